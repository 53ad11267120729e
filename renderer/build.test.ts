// @vitest-environment jsdom
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';

const rendererDir = path.dirname(fileURLToPath(import.meta.url));
let outDir = '';
let html = '';

beforeAll(async () => {
  outDir = await mkdtemp(path.join(tmpdir(), 'gd-renderer-build-'));
  await build({
    configFile: path.join(rendererDir, 'vite.config.ts'),
    logLevel: 'silent',
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
  html = await readFile(path.join(outDir, 'index.html'), 'utf8');
});

afterAll(async () => {
  if (outDir) {
    await rm(outDir, { recursive: true, force: true });
  }
});

describe('renderer build', () => {
  it('has no inline script and no inline style', () => {
    const doc = new DOMParser().parseFromString(html, 'text/html');

    const scripts = [...doc.querySelectorAll('script')];
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      expect(s.getAttribute('src')).toMatch(/^\.\/assets\/.+\.js$/);
      expect(s.textContent?.trim()).toBe('');
    }
    expect(doc.querySelectorAll('style')).toHaveLength(0);
    expect(doc.querySelectorAll('[style]')).toHaveLength(0);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it('loads every asset by a relative URL, for file:// and the serve server', () => {
    const doc = new DOMParser().parseFromString(html, 'text/html');

    const urls = [...doc.querySelectorAll('script[src], link[href]')].map(
      (el) => el.getAttribute('src') ?? el.getAttribute('href') ?? '',
    );
    expect(urls.filter((u) => u !== 'data:,')).toSatisfy((list: string[]) =>
      list.every((u) => u.startsWith('./assets/')),
    );
  });

  it('carries a strict Content-Security-Policy before any resource', () => {
    const doc = new DOMParser().parseFromString(html, 'text/html');

    const meta = doc.querySelector(
      'meta[http-equiv="Content-Security-Policy"]',
    );
    const policy = meta?.getAttribute('content') ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("style-src 'self'");
    expect(policy).toContain("object-src 'none'");
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).not.toContain('unsafe-eval');
    const head = [...doc.head.children];
    const firstResource = head.findIndex((el) =>
      el.matches('script, link[rel="stylesheet"]'),
    );
    expect(head.indexOf(meta as Element)).toBeLessThan(firstResource);
  });

  it('puts no eval or runtime style injection in the scripts', async () => {
    const assets = await readdir(path.join(outDir, 'assets'));
    const js = assets.filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);

    for (const file of js) {
      const code = await readFile(path.join(outDir, 'assets', file), 'utf8');
      expect(code).not.toMatch(/\beval\(/);
      expect(code).not.toMatch(/new Function\(/);
      expect(code).not.toMatch(/createElement\(["']style["']\)/);
    }
  });
});
