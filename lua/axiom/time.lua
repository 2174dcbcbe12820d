--- Time formats the API speaks: RFC 3339 out, HTTP-date in. Computed by hand because
-- os.time() reads a date table as local time, and these are UTC.
local type, tonumber, floor, date, lower, match, format =
  type, tonumber, math.floor, os.date, string.lower, string.match, string.format

local M = { _VERSION = "0.1.0" }

--- Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
function M.days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local MONTHS = { jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6,
                 jul = 7, aug = 8, sep = 9, oct = 10, nov = 11, dec = 12 }

--- Epoch seconds of an IMF-fixdate (RFC 9110: "Sun, 06 Nov 1994 08:49:37 GMT"), or nil.
function M.http_date(s)
  local d, mon, y, hh, mm, ss = match(s, "^%a+, (%d%d?) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  local m = mon and MONTHS[lower(mon)]
  if not m then return nil end
  y, d, hh, mm, ss = tonumber(y), tonumber(d), tonumber(hh), tonumber(mm), tonumber(ss)
  local days = M.days_from_civil(y, m, d)
  -- a day past the month's end would land in the next month: refuse it, and odd clocks
  if d < 1 or days >= M.days_from_civil(m == 12 and y + 1 or y, m % 12 + 1, 1)
    or hh > 23 or mm > 59 or ss > 60 then
    return nil
  end
  return days * 86400 + hh * 3600 + mm * 60 + ss
end

--- A time for the API: epoch seconds (fractions allowed) become RFC 3339 UTC; anything else
-- (an RFC 3339 string, a relative "now-1h") passes as it is. Nil for numbers no calendar
-- holds (NaN, ±Inf, beyond year 9999).
function M.rfc3339(v)
  if type(v) ~= "number" then return v end
  if not (v >= -62135596800 and v < 253402300800) then return nil end
  local ms = floor(v * 1000 + 0.5)
  local s = date("!%Y-%m-%dT%H:%M:%S", floor(ms / 1000))
  if ms % 1000 ~= 0 then s = s .. format(".%03d", ms % 1000) end
  return s .. "Z"
end

return M
