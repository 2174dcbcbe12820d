--- URLs: the one place that builds them. Every dataset name or id becomes exactly one escaped
-- path segment, so a value such as "../tokens" can never reach another route.
local type, concat, find, match, gsub, format, byte, sub =
  type, table.concat, string.find, string.match, string.gsub, string.format, string.byte, string.sub

local M = { _VERSION = "0.1.0" }

local function pct(c) return format("%%%02X", byte(c)) end

--- Percent-escape one path segment: everything but RFC 3986 unreserved characters.
-- Returns nil and a reason for values that cannot be a segment ("", ".", "..", control bytes).
function M.segment(s)
  if s == "" or s == "." or s == ".." then
    return nil, "is not a valid path segment"
  end
  if find(s, "%c") then return nil, "contains control characters" end
  return (gsub(s, "[^%w%-%._~]", pct))
end

--- A query string from an array of {name, value} pairs ("" when there are none).
function M.query(pairs_)
  local out = {}
  for i = 1, #pairs_ do
    local p = pairs_[i]
    out[#out + 1] = gsub(p[1], "[^%w%-%._~]", pct) .. "=" .. gsub(p[2], "[^%w%-%._~]", pct)
  end
  return #out > 0 and "?" .. concat(out, "&") or ""
end

--- The origin ("scheme://host[:port]") of an absolute URL, lowercased scheme and host.
function M.origin(u)
  local o = match(u, "^(%a[%w+.-]*://[^/?#]+)")
  return o and o:lower()
end

--- A redirect's Location resolved against the URL that answered (RFC 3986, enough of it:
-- absolute, scheme-relative, absolute-path and relative-path references).
function M.resolve(base, location)
  if M.is_http(location) then return location end
  if sub(location, 1, 2) == "//" then return match(base, "^(%a[%w+.-]*:)") .. location end
  if sub(location, 1, 1) == "/" then return M.origin(base) .. location end
  return (match(base, "^[^?#]*/") or base .. "/") .. location
end

--- Base URL + path, where the base may carry a prefix (https://host/api).
function M.join(base, path)
  return (gsub(base, "/+$", "")) .. path
end

--- The ingest URL for an already escaped dataset segment, with the official clients' rules:
-- an edge URL with no path (or "/") gets /v1/ingest/{ds}; an edge URL with a path is used as
-- it is; a bare edge domain becomes https://{edge}/v1/ingest/{ds}; an edge URL wins over an
-- edge domain; without either, the legacy /v1/datasets/{ds}/ingest on the API URL.
function M.ingest(cfg, ds)
  local edge_url = cfg.edge_url
  if edge_url then
    local path = match(edge_url, "^%a[%w+.-]*://[^/?#]+(.*)$") or ""
    if path == "" or path == "/" then return M.join(edge_url, "/v1/ingest/" .. ds) end
    return edge_url
  end
  if cfg.edge then return "https://" .. cfg.edge .. "/v1/ingest/" .. ds end
  return M.join(cfg.url, "/v1/datasets/" .. ds .. "/ingest")
end

--- Is `s` an absolute http(s) URL?
function M.is_http(s)
  return type(s) == "string" and find(s, "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+") ~= nil
end

return M
