/**
 * `npm run bench`: measures the engine against the raw limit of the same
 * machine in the same run, and prints the ratio beside the bar it must meet.
 *
 * Transfers: a generated FASTQ set (BENCH_GIB GiB in all, default 2) goes
 * up through `gencove-desktop upload` and comes back through
 * `gencove-desktop download`, against a sandbox process on loopback. The raw
 * limit is the same bytes sent by plain HTTP PUT (presigned) to the same S3
 * endpoint and fetched by plain HTTP GET from the same signed download URLs
 * into files on the same disk, as `curl -o` does (the GET with the bytes
 * thrown away is printed too); downloads take BENCH_ROUNDS turns with the
 * raw GET, and the best of each counts.
 * The upload's and the download's figures are their jobs' times, from start
 * to finish (API calls included, process start-up not); for the upload the
 * plan's content check before it (every byte decompressed and checked, part
 * checksums kept for the transfer) is printed beside the raw limit of the
 * same decompression by zlib, and the whole command beside the raw PUT.
 * The engine's peak RSS is read from /proc (VmHWM) of the command's process.
 *
 * Other sections run their own scripts: the sample table's render time
 * (renderer/bench/render.bench.ts) and the folder watcher
 * (scripts/bench-watch.ts). BENCH_SECTIONS picks sections.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import { SignatureV4 } from '@smithy/signature-v4';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repoRoot, 'bin', 'gencove-desktop.js');
const MiB = 1024 * 1024;

const targetBytes = Math.round(Number(process.env.BENCH_GIB ?? '2') * 1024 * MiB);
const pairs = Number(process.env.BENCH_PAIRS ?? '2');
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? '3'));
const sections = (process.env.BENCH_SECTIONS ?? 'transfer,render,watch').split(',');

interface Row {
  name: string;
  value: string;
  limit: string;
  ratio: string;
  bar: string;
  pass: boolean | null;
}
const rows: Row[] = [];

/** A SHA-256 for the signer, from node:crypto. */
class NodeSha256 {
  private hash: crypto.Hash | crypto.Hmac;
  private readonly secret?: Buffer;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret =
      secret === undefined
        ? undefined
        : typeof secret === 'string'
          ? Buffer.from(secret)
          : ArrayBuffer.isView(secret)
            ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
            : Buffer.from(secret);
    this.hash = this.secret
      ? crypto.createHmac('sha256', this.secret)
      : crypto.createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(
      typeof data === 'string'
        ? data
        : ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : new Uint8Array(data),
    );
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.secret
      ? crypto.createHmac('sha256', this.secret)
      : crypto.createHash('sha256');
  }
}

/** One gzip member of synthetic 150 bp FASTQ records, about `size` bytes. */
function makeMember(size: number, seed: number): Buffer {
  const bases = 'ACGT';
  const quals = 'FFFF:,F:FFFFF#';
  let rng = seed >>> 0 || 1;
  const next = () => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return rng >>> 0;
  };
  const chunks: string[] = [];
  let raw = 0;
  let n = 0;
  // Random bases compress to about 30 % with gzip -1.
  while (raw < size * 3.3) {
    let seq = '';
    let qual = '';
    for (let i = 0; i < 150; i++) {
      const r = next();
      seq += bases[r & 3];
      qual += quals[(r >>> 2) % quals.length];
    }
    const rec = `@bench:${seed}:${n++} 1:N:0:ACGT\n${seq}\n+\n${qual}\n`;
    chunks.push(rec);
    raw += rec.length;
  }
  return zlib.gzipSync(chunks.join(''), { level: 1 });
}

/** Writes `bytes` of valid multi-member FASTQ gzip by repeating a member. */
function writeFastq(file: string, bytes: number, member: Buffer): number {
  const fd = fs.openSync(file, 'w');
  let written = 0;
  try {
    while (written < bytes) {
      fs.writeSync(fd, member);
      written += member.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  return written;
}

function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string; seconds: number; peakRssMiB: number | null }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, CI: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let peak: number | null = null;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // The shim may re-run Node; VmHWM of every process in the tree counts.
    const sample = setInterval(() => {
      for (const pid of processTree(child.pid!)) {
        try {
          const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
          const m = /VmHWM:\s+(\d+) kB/.exec(status);
          if (m) peak = Math.max(peak ?? 0, Number(m[1]) / 1024);
        } catch {
          // The process ended between listing and reading.
        }
      }
    }, 100);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sample);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ code: code ?? -1, stdout, stderr, seconds, peakRssMiB: peak });
    });
  });
}

function processTree(root: number): number[] {
  const out = [root];
  try {
    const children = fs
      .readFileSync(`/proc/${root}/task/${root}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    for (const c of children) out.push(...processTree(c));
  } catch {
    // Not on Linux, or the process is gone.
  }
  return out;
}

async function startSandbox(dataDir: string) {
  const child = spawn(process.execPath, [cli, 'sandbox', '--port', '0', '--data', dataDir, '--step-ms', '100'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const deadline = Date.now() + 30_000;
  while (!out.includes('running at')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new Error(`sandbox did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const info = JSON.parse(fs.readFileSync(path.join(dataDir, 'sandbox.json'), 'utf8'));
  return { child, info };
}

async function api(base: string, key: string, method: string, p: string, body?: unknown) {
  const res = await fetch(new URL(p, base), {
    method,
    headers: { 'content-type': 'application/json', authorization: `Api-Key ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return res.json();
}

function putFile(
  url: URL,
  file: string,
  headers: Record<string, string>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const size = fs.statSync(file).size;
    const req = http.request(url, { method: 'PUT', headers: { ...headers, 'content-length': size } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve()
          : reject(new Error(`raw PUT ${res.statusCode}: ${body}`)),
      );
    });
    req.on('error', reject);
    fs.createReadStream(file).pipe(req);
  });
}

function getDiscard(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let n = 0;
        res.on('data', (d: Buffer) => (n += d.length));
        res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`raw GET ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

/** Plain GET into `file`, as `curl -o` does it (no flush to disk). */
function getToFile(url: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`raw GET ${res.statusCode}`));
          return;
        }
        const out = fs.createWriteStream(file, { highWaterMark: MiB });
        pipeline(res, out).then(() => resolve(out.bytesWritten), reject);
      })
      .on('error', reject);
  });
}

async function inParallel<T>(items: T[], limit: number, fn: (t: T) => Promise<unknown>) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

function ratioRow(name: string, engine: number, raw: number, unit: string, bar: number): Row {
  const ratio = engine / raw;
  return {
    name,
    value: `${engine.toFixed(1)} ${unit}`,
    limit: `${raw.toFixed(1)} ${unit}`,
    ratio: ratio.toFixed(2),
    bar: `>= ${bar}`,
    pass: ratio >= bar,
  };
}

/** A figure beside its raw limit, with no bar to meet. */
function infoRow(name: string, engine: number, raw: number, unit: string): Row {
  return { ...ratioRow(name, engine, raw, unit, 0), bar: '-', pass: null };
}

async function transferSection() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gd-bench-'));
  const { child, info } = await startSandbox(path.join(work, 'sandbox'));
  const env = {
    GENCOVE_DESKTOP_HOME: path.join(work, 'home'),
    GENCOVE_SANDBOX_DIR: path.join(work, 'sandbox'),
  };
  try {
    // The data set: `pairs` samples, R1 and R2 each targetBytes / (2 pairs).
    const src = path.join(work, 'fastq');
    fs.mkdirSync(src);
    const member = makeMember(16 * MiB, 7);
    const files: string[] = [];
    let total = 0;
    for (let i = 1; i <= pairs; i++) {
      for (const r of [1, 2]) {
        const f = path.join(src, `BENCH${i}_S${i}_L001_R${r}_001.fastq.gz`);
        total += writeFastq(f, targetBytes / (2 * pairs), member);
        files.push(f);
      }
    }
    const totalMiB = total / MiB;
    console.log(`bench: ${files.length} files, ${totalMiB.toFixed(0)} MiB in all`);

    // Raw limit, upload: plain presigned PUTs to the same S3 endpoint.
    const creds = await api(info.api_url, info.api_key, 'POST', '/api/v2/upload-credentials/', {});
    const signer = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      credentials: {
        accessKeyId: creds.access_key,
        secretAccessKey: creds.secret_key,
        sessionToken: creds.token,
      },
      sha256: NodeSha256,
    });
    const s3 = new URL(creds.endpoint_url ?? info.s3_endpoint);
    let t0 = performance.now();
    await inParallel(files, 2, async (f) => {
      // The credentials reach only the user's upload area: take a key there.
      const slot = await api(info.api_url, info.api_key, 'POST', '/api/v2/uploads-post-data/', {
        destination_path: `gncv://raw-bench/${path.basename(f)}`,
      });
      const key: string = slot.s3.object_name;
      const signed = await signer.presign(
        {
          method: 'PUT',
          protocol: s3.protocol,
          hostname: s3.hostname,
          port: Number(s3.port),
          path: `/gencove-sandbox-uploads/${key}`,
          // As the SDK's own presigner does: the body is not hashed.
          headers: { host: s3.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
          query: {},
        },
        { expiresIn: 3600 },
      );
      const url = new URL(`${s3.origin}${signed.path}`);
      for (const [k, v] of Object.entries(signed.query ?? {})) url.searchParams.set(k, String(v));
      const { host: _host, ...headers } = signed.headers;
      await putFile(url, f, headers);
    });
    const rawUp = totalMiB / ((performance.now() - t0) / 1000);

    // The engine, upload: the command line, as a user runs it. The plan
    // checks every file's content (gzip integrity and FASTQ records) and
    // keeps each part's checksum; the transfer then sends the parts with
    // them. Its time is the job's, from start to finish (assignment
    // included); the command's whole time is printed beside it.
    const projectId = info.project_ids[0];
    const up = await run(
      ['upload', src, 'gncv://bench/', '--run-project-id', projectId, '--json'],
      env,
    );
    if (up.code !== 0) throw new Error(`engine upload failed: ${up.stderr}\n${up.stdout}`);
    const upOut = JSON.parse(up.stdout) as {
      planSeconds: number;
      result: { startedAt: string; finishedAt: string };
    };
    const transferSeconds =
      (Date.parse(upOut.result.finishedAt) - Date.parse(upOut.result.startedAt)) / 1000;
    const engineUp = totalMiB / transferSeconds;
    const engineUpCommand = totalMiB / up.seconds;
    const engineCheck = totalMiB / upOut.planSeconds;

    // Raw limit of the check: zlib's gunzip of the same files, two at a
    // time (as the plan checks them), output discarded.
    t0 = performance.now();
    await inParallel(files, 2, (f) =>
      pipeline(
        fs.createReadStream(f, { highWaterMark: MiB }),
        zlib.createGunzip({ chunkSize: MiB }),
        new Writable({ write: (_chunk, _enc, done) => done() }),
      ),
    );
    const rawGunzip = totalMiB / ((performance.now() - t0) / 1000);

    // Wait for analysis, then collect the signed URLs of the FASTQ deliverables.
    const deadline = Date.now() + 15 * 60_000;
    let samples: { id: string; last_status: { status: string } }[] = [];
    for (;;) {
      const page = await api(info.api_url, info.api_key, 'GET', `/api/v2/project-samples/${projectId}?limit=200`);
      samples = page.results;
      if (samples.length >= pairs && samples.every((s) => /^(succeeded|failed)/.test(s.last_status.status))) break;
      if (Date.now() > deadline) throw new Error('analysis did not finish');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const urls: string[] = [];
    for (const s of samples) {
      const detail = await api(info.api_url, info.api_key, 'GET', `/api/v2/samples/${s.id}`);
      for (const f of detail.files) if (f.file_type.startsWith('fastq')) urls.push(f.download_url);
    }
    t0 = performance.now();
    let fetched = 0;
    await inParallel(urls, 2, async (u) => {
      // Not `fetched += await …`: that reads `fetched` before the await and
      // loses what the other lane added meanwhile.
      const bytes = await getDiscard(u);
      fetched += bytes;
    });
    const rawDownDiscard = fetched / MiB / ((performance.now() - t0) / 1000);

    // Raw limit, download: the same GETs written to files on the same disk,
    // as a plain `curl -o` keeps them (the engine also flushes each file
    // before it is renamed into place; this does not). Raw and engine take
    // turns, BENCH_ROUNDS times (default 3); the best of each counts.
    const rawGetToFiles = async (): Promise<number> => {
      const rawDir = path.join(work, 'raw-download');
      fs.mkdirSync(rawDir);
      const started = performance.now();
      let stored = 0;
      let n = 0;
      await inParallel(urls, 2, async (u) => {
        const bytes = await getToFile(u, path.join(rawDir, `${n++}.fastq.gz`));
        stored += bytes;
      });
      const speed = stored / MiB / ((performance.now() - started) / 1000);
      // Their write-back must not run into the engine's turn: flush, then go.
      for (const name of fs.readdirSync(rawDir)) {
        const fd = fs.openSync(path.join(rawDir, name), 'r');
        fs.fsyncSync(fd);
        fs.closeSync(fd);
      }
      fs.rmSync(rawDir, { recursive: true, force: true });
      return speed;
    };
    // As for the upload: the job's time (listing the samples and their
    // files included), the whole command's beside it.
    const engineDownload = async () => {
      const out = path.join(work, 'out');
      const result = await run(
        ['download', out, '--project-id', projectId, '--file-types', 'fastq-r1,fastq-r2', '--json'],
        env,
      );
      if (result.code !== 0) {
        throw new Error(`engine download failed: ${result.stderr}\n${result.stdout}`);
      }
      const snap = JSON.parse(result.stdout) as { startedAt: string; finishedAt: string };
      const seconds = (Date.parse(snap.finishedAt) - Date.parse(snap.startedAt)) / 1000;
      fs.rmSync(out, { recursive: true, force: true });
      return { job: fetched / MiB / seconds, command: fetched / MiB / result.seconds, peak: result.peakRssMiB };
    };
    let rawDown = 0;
    let engineDown = 0;
    let engineDownCommand = 0;
    let downPeak = 0;
    for (let round = 0; round < rounds; round++) {
      rawDown = Math.max(rawDown, await rawGetToFiles());
      const down = await engineDownload();
      engineDown = Math.max(engineDown, down.job);
      engineDownCommand = Math.max(engineDownCommand, down.command);
      downPeak = Math.max(downPeak, down.peak ?? 0);
    }

    rows.push(ratioRow('upload throughput (transfer)', engineUp, rawUp, 'MiB/s', 0.7));
    rows.push(infoRow('upload command, content check included', engineUpCommand, rawUp, 'MiB/s'));
    rows.push(infoRow('content check of the plan (vs gunzip)', engineCheck, rawGunzip, 'MiB/s'));
    rows.push(ratioRow('download throughput (job)', engineDown, rawDown, 'MiB/s', 0.7));
    rows.push(infoRow('download command, start-up included', engineDownCommand, rawDown, 'MiB/s'));
    rows.push(infoRow('download vs GET discarding the bytes', engineDown, rawDownDiscard, 'MiB/s'));
    const peak = Math.max(up.peakRssMiB ?? 0, downPeak);
    rows.push({
      name: `engine peak RSS (${totalMiB.toFixed(0)} MiB set)`,
      value: `${peak.toFixed(0)} MiB`,
      limit: '-',
      ratio: '-',
      bar: '< 300 MiB',
      pass: peak < 300,
    });
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function scriptSection(script: string) {
  const file = path.join(repoRoot, script);
  if (!fs.existsSync(file)) return;
  const { stdout, code, stderr } = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let o = '';
    let e = '';
    child.stdout.on('data', (d) => (o += d));
    child.stderr.on('data', (d) => (e += d));
    child.on('close', (c) => resolve({ stdout: o, stderr: e, code: c ?? 1 }));
  });
  if (code !== 0) throw new Error(`${script} failed: ${stderr}`);
  // Each script prints its rows as JSON lines prefixed with "ROW ".
  for (const line of stdout.split('\n')) {
    if (line.startsWith('ROW ')) rows.push(JSON.parse(line.slice(4)) as Row);
    else if (line.trim()) console.log(line);
  }
}

async function main() {
  if (sections.includes('transfer')) await transferSection();
  if (sections.includes('render')) {
    console.log('\nrender benchmark (renderer/bench/render.bench.ts)');
    await scriptSection('renderer/bench/render.bench.ts');
  }
  if (sections.includes('watch')) {
    console.log('\nwatcher benchmark (scripts/bench-watch.ts)');
    await scriptSection('scripts/bench-watch.ts');
  }

  const header: Row = { name: 'measure', value: 'figure', limit: 'raw limit', ratio: 'ratio', bar: 'bar', pass: null };
  const table = [header, ...rows];
  const w = (k: keyof Row) => Math.max(...table.map((r) => String(r[k]).length));
  console.log('');
  for (const r of table) {
    const status = r === header ? 'result' : r.pass === null ? '-' : r.pass ? 'ok' : 'BELOW BAR';
    console.log(
      [r.name.padEnd(w('name')), r.value.padStart(w('value')), r.limit.padStart(w('limit')), r.ratio.padStart(w('ratio')), r.bar.padEnd(w('bar')), status].join('  '),
    );
  }
}

await main();
