/**
 * Vite build of the renderer: root `renderer/`, output `dist/renderer/`,
 * relative base so the same files load from file:// (Electron) and from the
 * serve-mode server. The built page carries a strict Content-Security-Policy
 * (no inline script or style, no eval) and no inline script.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import type { Plugin } from 'vite';

const rendererDir = path.dirname(fileURLToPath(import.meta.url));

/** The policy of the built page; the serve server may send a stricter one. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');

/** Adds the CSP meta tag to the built page only (dev needs inline HMR code). */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'gencove-csp',
    apply: 'build',
    transformIndexHtml() {
      return [
        {
          tag: 'meta',
          attrs: {
            'http-equiv': 'Content-Security-Policy',
            content: CONTENT_SECURITY_POLICY,
          },
          injectTo: 'head-prepend',
        },
      ];
    },
  };
}

export default defineConfig({
  root: rendererDir,
  base: './',
  plugins: [react(), contentSecurityPolicy()],
  build: {
    outDir: path.resolve(rendererDir, '../dist/renderer'),
    emptyOutDir: true,
    // Keep everything in files: no data: URLs inlined into CSS or JS.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2023',
    sourcemap: true,
  },
  server: {
    host: '127.0.0.1',
  },
  preview: {
    host: '127.0.0.1',
  },
});
