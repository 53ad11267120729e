/**
 * Benchmark of the sample table: renders SampleTable with 10,000 rows in
 * jsdom and prints the time to first render and to scroll through every row
 * (one viewport per step), beside the 300 ms target. The raw floor measured
 * in the same run is jsdom creating the same number of row elements with
 * plain DOM calls, without React.
 *
 * Run: node renderer/bench/render.bench.ts [rows]
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { JSDOM } from 'jsdom';
import { createServer } from 'vite';

// Measure what ships: React's production build and JSX runtime. This must
// be set before React or Vite is loaded.
process.env.NODE_ENV = 'production';

const TARGET_MS = 300;
const ROWS = Number(process.argv[2] ?? 10_000);
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const rendererDir = path.resolve(benchDir, '..');

/** Makes jsdom's window the global one, as the jsdom test environment does. */
function installDom(): JSDOM {
  const dom = new JSDOM(
    '<!doctype html><html><body><div id="root"></div></body></html>',
    { pretendToBeVisual: true, url: 'http://127.0.0.1/' },
  );
  const win = dom.window as unknown as Record<string, unknown>;
  const g = globalThis as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(win)) {
    if (key in g || key.startsWith('_')) {
      continue;
    }
    g[key] = win[key];
  }
  for (const key of ['window', 'document', 'navigator', 'self']) {
    Object.defineProperty(globalThis, key, {
      value: key === 'window' || key === 'self' ? dom.window : win[key],
      configurable: true,
      writable: true,
    });
  }
  return dom;
}

function makeRows(n: number) {
  const statuses = ['succeeded', 'failed qc', 'running', 'succeeded', 'failed'];
  return Array.from({ length: n }, (_, i) => {
    const day = String(1 + (i % 28)).padStart(2, '0');
    const status = statuses[i % statuses.length];
    return {
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      clientId: `SAMPLE-${i}`,
      status,
      archiveStatus: 'available',
      failedQc: status === 'failed qc',
      created: `2024-01-${day}T08:00:00Z`,
      modified: `2024-02-${day}T08:${String(i % 60).padStart(2, '0')}:00Z`,
    };
  });
}

/**
 * Resolves once the rendered window starts at `start` (React renders a
 * scroll in a task of its own), or after 50 tasks.
 */
async function windowAt(win: HTMLElement, start: number): Promise<void> {
  const want = String(start);
  for (let i = 0; i < 50; i += 1) {
    if (win.firstElementChild?.getAttribute('data-index') === want) {
      return;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function line(label: string, ms: number, note = ''): string {
  const verdict = ms <= TARGET_MS ? 'within' : 'OVER';
  return `${label.padEnd(34)} ${ms.toFixed(1).padStart(9)} ms   target ${TARGET_MS} ms (${verdict})${note}`;
}

async function main(): Promise<void> {
  const dom = installDom();
  const vite = await createServer({
    configFile: path.join(rendererDir, 'vite.config.ts'),
    root: rendererDir,
    logLevel: 'error',
    appType: 'custom',
    server: { middlewareMode: true, hmr: false, watch: null, ws: false },
  });
  try {
    const React = await import('react');
    const { flushSync } = await import('react-dom');
    const { createRoot } = await import('react-dom/client');
    const table = (await vite.ssrLoadModule(
      '/src/components/SampleTable.tsx',
    )) as typeof import('../src/components/SampleTable.tsx');
    const { SampleTable, ROW_HEIGHT, FALLBACK_VIEWPORT_HEIGHT } = table;

    const rows = makeRows(ROWS);
    const element = React.createElement(SampleTable, {
      rows,
      selection: new Set<string>(),
      onSelectionChange: () => undefined,
      onOpen: () => undefined,
    });
    const doc = dom.window.document;

    async function mount(): Promise<{
      ms: number;
      host: HTMLElement;
      unmount: () => void;
    }> {
      const host = doc.createElement('div');
      doc.body.append(host);
      const root = createRoot(host);
      const start = performance.now();
      flushSync(() => root.render(element));
      const ms = performance.now() - start;
      return { ms, host, unmount: () => root.unmount() };
    }

    // Cold: the first React render in this process (code not yet optimised).
    const cold = await mount();
    cold.unmount();
    // Warm: the same mount again, as after the app has been used a little.
    const warm = await mount();
    const container = warm.host;
    const inDom = container.querySelectorAll(
      '[data-testid="sample-row"]',
    ).length;

    const grid = container.querySelector(
      '[data-testid="sample-table"]',
    ) as HTMLElement;
    const win = container.querySelector(
      '[data-testid="sample-grid-window"]',
    ) as HTMLElement;
    const { OVERSCAN, computeWindow } = table;
    const windowStart = (top: number) =>
      computeWindow(top, FALLBACK_VIEWPORT_HEIGHT, ROW_HEIGHT, ROWS, OVERSCAN)
        .start;

    /** Scrolls to `top` and resolves with the ms until React committed it. */
    async function scrollTo(top: number): Promise<number> {
      const t = performance.now();
      grid.scrollTop = top;
      grid.dispatchEvent(new dom.window.Event('scroll'));
      await windowAt(win, windowStart(top));
      return performance.now() - t;
    }

    // Scroll through: one viewport per step, top to bottom.
    const step = FALLBACK_VIEWPORT_HEIGHT;
    const bottom = ROWS * ROW_HEIGHT - FALLBACK_VIEWPORT_HEIGHT;
    const steps: number[] = [];
    const t1 = performance.now();
    for (let top = step; top < bottom + step; top += step) {
      steps.push(await scrollTo(Math.min(top, bottom)));
    }
    const scrollThrough = performance.now() - t1;
    const lastIndex = Number(win.lastElementChild?.getAttribute('data-index'));
    steps.sort((a, b) => a - b);
    const p50 = steps[Math.floor(steps.length * 0.5)] ?? 0;
    const p95 = steps[Math.floor(steps.length * 0.95)] ?? 0;
    const worst = steps.at(-1) ?? 0;

    // Jumps: bottom to top and back, as with Home / End or the scrollbar.
    const jumpTop = await scrollTo(0);
    const jumpBottom = await scrollTo(bottom);

    // Re-sort: a click (discrete event) is rendered in a microtask; wait for
    // the window's first row to change.
    await scrollTo(0);
    const sortButton = container.querySelector(
      '[data-testid="sample-sort-clientId"]',
    ) as HTMLElement;
    const before = win.firstElementChild?.getAttribute('data-sample-id');
    const t2 = performance.now();
    sortButton.dispatchEvent(
      new dom.window.MouseEvent('click', { bubbles: true }),
    );
    for (let i = 0; i < 50; i += 1) {
      if (win.firstElementChild?.getAttribute('data-sample-id') !== before) {
        break;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const resort = performance.now() - t2;
    const firstAfterSort = win.querySelector<HTMLElement>(
      '[data-testid="sample-client-id"]',
    )?.textContent;

    // Raw floor: the same number of row elements, plain DOM, no React.
    const floorHost = doc.createElement('div');
    doc.body.append(floorHost);
    const f0 = performance.now();
    for (let i = 0; i < inDom; i += 1) {
      const r = doc.createElement('div');
      for (let c = 0; c < 7; c += 1) {
        const cell = doc.createElement('div');
        cell.textContent = rows[i].clientId;
        r.append(cell);
      }
      floorHost.append(r);
    }
    const floor = performance.now() - f0;

    warm.unmount();

    const out = [
      `SampleTable in jsdom: ${ROWS.toLocaleString()} rows, ${inDom} in the DOM at a time (row ${ROW_HEIGHT} px, viewport ${FALLBACK_VIEWPORT_HEIGHT} px)`,
      line('time to first render (cold)', cold.ms),
      line('time to first render (warm)', warm.ms),
      line('scroll step, p95 of all steps', p95),
      line('scroll step, slowest', worst),
      `${'scroll through, total'.padEnd(34)} ${scrollThrough.toFixed(1).padStart(9)} ms   ${steps.length} steps of one viewport; p50 ${p50.toFixed(2)} ms`,
      line('jump bottom to top', jumpTop),
      line('jump top to bottom', jumpBottom),
      line('re-sort by client id', resort, `; first row now ${firstAfterSort}`),
      `${'raw floor: same rows, plain DOM'.padEnd(34)} ${floor.toFixed(1).padStart(9)} ms   (jsdom creating ${inDom} rows of 7 cells, no React)`,
      `last row reached: index ${lastIndex} of ${ROWS - 1}`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    if (lastIndex !== ROWS - 1) {
      process.exitCode = 1;
      process.stderr.write(
        'render.bench: scrolling did not reach the last row\n',
      );
    }
  } finally {
    await vite.close();
    dom.window.close();
  }
}

await main();
