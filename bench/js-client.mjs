// The official JavaScript client (@axiomhq/js, as pinned for the conformance run) ingesting
// the same events, built fresh, in batches of 1,000 (AxiomWithoutBatching: one POST each).
// Usage: node bench/js-client.mjs N URL. Prints a RESULT line like bench/cases.lua.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../spec/conformance/package.json', import.meta.url));
const { AxiomWithoutBatching } = require('@axiomhq/js');

const N = Number(process.argv[2]);
const url = process.argv[3];
const token = process.env.AXIOM_DEV_TOKEN ?? 'xaat-axiom-dev-token';
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const STATUS = [200, 200, 200, 201, 204, 301, 404, 500];
const AGENT = 'Mozilla/5.0 (X11; Linux) Firefox/126.0';
const hex = (v, w) => v.toString(16).padStart(w, '0');
const make = (i) => ({
  _time: '2026-12-03T10:00:00Z',
  method: METHODS[i % 6],
  path: `/api/v1/items/${i % 9973}`,
  status: STATUS[i % 8],
  bytes: 512 + (i * 7919) % 65536,
  duration_ms: (i % 10007) / 8,
  remote_addr: `10.0.${i % 256}.${(i * 31) % 256}`,
  user_agent: AGENT,
  referer: `https://example.com/page/${i % 101}`,
  request_id: `${hex(i, 8)}-${hex(i % 4096, 3)}`,
});

const client = new AxiomWithoutBatching({ token, url, onError: (e) => { throw e; } });
const t0 = process.hrtime.bigint();
for (let base = 0; base < N; base += 1000) {
  const batch = [];
  for (let j = 1; j <= 1000; j++) batch.push(make(base + j));
  await client.ingest('bench', batch);
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`RESULT js node ${N} ${secs.toFixed(4)} ${process.resourceUsage().maxRSS}`);
