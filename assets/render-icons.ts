/**
 * Renders assets/logo.svg into the PNG icons the app and electron-builder
 * use: assets/icons/<n>x<n>.png for n in ICON_SIZES (Linux icon set, window
 * icon) and build/icon.png (1024, from which electron-builder makes the
 * Windows .ico and macOS .icns). Run it after changing the logo:
 *
 *   node assets/render-icons.ts [path-to-chromium]
 *
 * It drives a headless Chromium (default /usr/bin/chromium) through
 * playwright-core, so the PNGs are exactly what a browser draws.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

import { chromium } from 'playwright-core';

/** Every size written to assets/icons. */
export const ICON_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];

const here = import.meta.dirname;
const root = path.resolve(here, '..');
const executablePath = process.argv[2] ?? '/usr/bin/chromium';

const svg = await fs.readFile(path.join(here, 'logo.svg'), 'utf8');
const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage({ deviceScaleFactor: 1 });
  await fs.mkdir(path.join(here, 'icons'), { recursive: true });
  await fs.mkdir(path.join(root, 'build'), { recursive: true });
  for (const size of ICON_SIZES) {
    await page.setViewportSize({ width: size, height: size });
    const sized = svg.replace(
      /width="1024" height="1024"/,
      `width="${size}" height="${size}"`,
    );
    await page.setContent(
      `<!doctype html><html><body style="margin:0;background:transparent">${sized}</body></html>`,
    );
    const png = await page.screenshot({
      omitBackground: true,
      clip: { x: 0, y: 0, width: size, height: size },
    });
    await fs.writeFile(path.join(here, 'icons', `${size}x${size}.png`), png);
    if (size === 1024)
      await fs.writeFile(path.join(root, 'build', 'icon.png'), png);
    console.log(`icon ${size}x${size}`);
  }
} finally {
  await browser.close();
}
