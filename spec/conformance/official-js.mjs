// Conformance: the official JavaScript client (@axiomhq/js, pinned in package.json) runs
// unmodified against the local server, on the legacy and the edge path, batching and not.
// What it sends must pass the server's validation and be stored as sent. Prints TAP.
import { Axiom, AxiomWithoutBatching } from '@axiomhq/js';

const url = process.env.AXIOM_TEST_URL ?? 'http://127.0.0.1:18123';
const token = process.env.AXIOM_DEV_TOKEN ?? 'xaat-axiom-dev-token';
let n = 0, failed = 0;
function check(ok, name, detail) {
  n += 1;
  if (!ok) failed += 1;
  console.log(`${ok ? 'ok' : 'not ok'} ${n} - ${name}${ok ? '' : ` # ${detail ?? ''}`}`);
}
async function dev(method, path, body) {
  const res = await fetch(url + path, { method, body: body && JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` } });
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}
const errors = [];
const onError = (err) => errors.push(String(err?.message ?? err));
const events = (tag, count) => Array.from({ length: count }, (_, i) =>
  ({ tag, i, msg: `événement ${i} ✓`, nested: { ok: true, n: i * 1.5 }, list: [1, 'two', null] }));

const ds = `js-conformance-${Date.now()}`;
// the JS client's own dataset API creates the dataset
await new AxiomWithoutBatching({ token, url, onError }).datasets.create({ name: ds, description: 'js' });
check((await dev('GET', `/v2/datasets/${ds}`))?.name === ds, 'datasets.create through the JS client');

const cases = [
  ['legacy path, AxiomWithoutBatching', { url }, false, '/v1/datasets/'],
  ['edge path, AxiomWithoutBatching', { url, edgeUrl: url }, false, '/v1/ingest/'],
  ['legacy path, batching Axiom + flush()', { url }, true, '/v1/datasets/'],
  ['edge path, batching Axiom + flush()', { url, edgeUrl: url }, true, '/v1/ingest/'],
];
let expected = 0;
for (const [name, opts, batching, prefix] of cases) {
  const before = (await dev('GET', '/_dev/journal')).length;
  const evs = events(name, 250);
  if (batching) {
    const client = new Axiom({ token, ...opts, onError });
    for (const e of evs) client.ingest(ds, e);
    await client.flush();
  } else {
    const client = new AxiomWithoutBatching({ token, ...opts, onError });
    const st = await client.ingest(ds, evs, { timestampField: '_time' });
    check(st.ingested === evs.length && st.failed === 0, `${name}: status`, JSON.stringify(st));
  }
  expected += evs.length;
  const reqs = (await dev('GET', '/_dev/journal')).slice(before);
  check(reqs.length > 0 && reqs.every((r) => r.path.startsWith(prefix) && r.status === 200),
    `${name}: requests on ${prefix}… answered 200`, JSON.stringify(reqs.map((r) => [r.path, r.status])));
  // Node has CompressionStream, so the client gzips: the server must have decoded that
  const want = typeof CompressionStream === 'undefined' ? undefined : 'gzip';
  check(reqs.every((r) => r.headers['content-encoding'] === want),
    `${name}: sent with content-encoding ${want}`, JSON.stringify(reqs.map((r) => r.headers['content-encoding'])));
}
check(errors.length === 0, 'no errors reported to onError', errors.join('; '));

const stored = await dev('GET', `/_dev/events/${ds}`);
check(stored.length === expected, `server stored every event (${expected})`, `stored ${stored.length}`);
const sample = stored.find((e) => e.tag === cases[0][0] && e.i === 7);
check(sample && sample.msg === 'événement 7 ✓' && sample.nested.n === 10.5 && sample.list[1] === 'two'
  && typeof sample._time === 'string' && typeof sample._sysTime === 'string',
  'events stored as sent, with _time and _sysTime', JSON.stringify(sample));

// raw payloads through ingestRaw: NDJSON and CSV
const raw = new AxiomWithoutBatching({ token, url, onError });
let st = await raw.ingestRaw(ds, '{"raw":1}\n{"raw":2}\n', 'application/x-ndjson');
check(st.ingested === 2, 'ingestRaw NDJSON', JSON.stringify(st));
st = await raw.ingestRaw(ds, 'a;b\n1;"x;y"\n', 'text/csv', undefined, { csvDelimiter: ';' });
check(st.ingested === 1, 'ingestRaw CSV with a delimiter', JSON.stringify(st));

console.log(`1..${n}`);
console.log(`# ${n - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
