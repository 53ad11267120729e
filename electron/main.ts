/**
 * The desktop app's entry: an ordered list of setup steps. Everything with
 * behaviour lives behind it (the app service, ipc.ts, credentials.ts); this
 * file only wires Electron to them.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  nativeTheme,
  Notification,
  safeStorage,
  session,
  shell,
  Tray,
} from 'electron';
import type { MenuItemConstructorOptions, OpenDialogOptions } from 'electron';

import type { WatchRunFinished } from '../shared/contract.ts';
import type { TransferSnapshot, WatchFolderView } from '../shared/domain.ts';
import {
  afterLastWindowClosed,
  backgroundWorkOf,
  trayStatus,
} from './background.ts';
import { appDataDir } from './cli/context.ts';
import { createSafeStorageSecretStore } from './credentials.ts';
import { tuneHeapForTransfers } from './engine/heap.ts';
import { createSenderCheck, registerIpc } from './ipc.ts';
import type { AppPageLocation } from './ipc.ts';
import { AppService } from './service/appService.ts';

/**
 * The dev server (`vite` + `electron .`): honoured only when running
 * unpackaged, and only on loopback, since the page it serves is trusted
 * with the IPC bridge.
 */
const DEV_SERVER_URL = app.isPackaged
  ? undefined
  : checkDevServerUrl(process.env.GENCOVE_DEV_SERVER_URL);

const page: AppPageLocation = DEV_SERVER_URL
  ? { kind: 'dev-server', url: DEV_SERVER_URL }
  : {
      kind: 'file',
      url: pathToFileURL(
        path.join(import.meta.dirname, '..', 'renderer', 'index.html'),
      ).href,
    };

let mainWindow: BrowserWindow | null = null;
/** Shown while the app runs without a window (see background.ts). */
let tray: Tray | null = null;
let stopTrayUpdates: (() => void) | null = null;

// Order matters: the lock must be taken before anything else starts, and
// every session-wide guard is installed before the first window loads.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // Before the engine allocates anything (see engine/heap.ts).
  tuneHeapForTransfers();
  app.on('second-instance', focusMainWindow);
  setupWebContentsGuards();
  void app.whenReady().then(() => {
    setupContentSecurityPolicy();
    setupPermissions();
    const service = createService();
    setupIpc(service);
    setupNotifications(service);
    setupMenu();
    setupLifecycle(service);
    createMainWindow();
    // After the window and the notifications are set up: restoring the
    // session starts watching folders, whose news must reach both.
    setupLoginItem(service);
    setupBackgroundWork(service);
  });
}

function checkDevServerUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const url = new URL(value);
  if (
    url.protocol !== 'http:' ||
    (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost')
  ) {
    throw new Error(
      `GENCOVE_DEV_SERVER_URL must be an http://127.0.0.1 or http://localhost address, not ${value}.`,
    );
  }
  return url.origin;
}

function createService(): AppService {
  return new AppService({
    dataDir: appDataDir(),
    mode: 'desktop',
    startInSandbox: true,
    // safeStorage works only once the app is ready, which it is here.
    secretStore: createSafeStorageSecretStore(
      safeStorage,
      path.join(app.getPath('userData'), 'session.bin'),
    ),
    downloadsDir: app.getPath('downloads'),
    desktop: {
      async pickFolder(title) {
        const options: OpenDialogOptions = {
          title: title ?? 'Choose a folder',
          properties: ['openDirectory', 'createDirectory'],
        };
        const result = mainWindow
          ? await dialog.showOpenDialog(mainWindow, options)
          : await dialog.showOpenDialog(options);
        return result.canceled ? null : (result.filePaths[0] ?? null);
      },
      async openFolder(folder) {
        const failure = await shell.openPath(folder);
        if (failure) throw new Error(`Cannot open ${folder}: ${failure}`);
      },
      // Electron manages login items on macOS and Windows only; elsewhere
      // the setting is not offered.
      ...(hasLoginItems()
        ? {
            setOpenAtLogin(isEnabled: boolean) {
              app.setLoginItemSettings({ openAtLogin: isEnabled });
            },
          }
        : {}),
    },
    log: (line) => console.log(line),
  });
}

function setupIpc(service: AppService): void {
  registerIpc(ipcMain, service, {
    isTrustedSender: createSenderCheck(
      () => mainWindow?.webContents ?? null,
      page,
    ),
    getWebContents: () => mainWindow?.webContents ?? null,
    log: (line) => console.error(line),
  });
}

/** The policy of the app page; index.html carries the same one as a meta tag. */
function contentSecurityPolicy(): string {
  const devOrigin = DEV_SERVER_URL ? new URL(DEV_SERVER_URL).origin : null;
  const devSocket = devOrigin?.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    `script-src 'self'${devOrigin ? ` ${devOrigin}` : ''}`,
    `style-src 'self'${devOrigin ? ` ${devOrigin} 'unsafe-inline'` : ''}`,
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${devOrigin ? ` ${devOrigin} ${devSocket}` : ''}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function setupContentSecurityPolicy(): void {
  const policy = contentSecurityPolicy();
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': [policy],
      },
    });
  });
}

/** Only desktop notifications are granted; every other permission is denied. */
function setupPermissions(): void {
  session.defaultSession.setPermissionRequestHandler(
    (_contents, permission, callback) => {
      callback(permission === 'notifications');
    },
  );
  session.defaultSession.setPermissionCheckHandler(
    (_contents, permission) => permission === 'notifications',
  );
}

/** No navigation away from the app page, no new windows, no webviews. */
function setupWebContentsGuards(): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (url !== contents.getURL()) event.preventDefault();
    });
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}

function createMainWindow(): void {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Gencove Desktop',
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#111418' : '#ffffff',
    icon: path.join(app.getAppPath(), 'assets', 'icons', '512x512.png'),
    webPreferences: {
      preload: path.join(import.meta.dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    if (mainWindow === window) mainWindow = null;
  });
  mainWindow = window;

  void window.loadURL(page.url);
}

function focusMainWindow(): void {
  if (!mainWindow) {
    createMainWindow();
    return;
  }
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.focus();
}

/**
 * The login item follows the stored setting ("Start at login and watch
 * folders"), so that a setting changed while the app could not apply it,
 * or a data folder copied from another machine, still holds.
 */
function setupLoginItem(service: AppService): void {
  if (!hasLoginItems()) return;
  void service.loadSettings().then((settings) => {
    const current = app.getLoginItemSettings().openAtLogin;
    if (current !== settings.startAtLogin) {
      app.setLoginItemSettings({ openAtLogin: settings.startAtLogin });
    }
  });
}

function hasLoginItems(): boolean {
  return process.platform === 'darwin' || process.platform === 'win32';
}

/** Restores the remembered session at once: its watch folders are watched from now on. */
function setupBackgroundWork(service: AppService): void {
  void service.start();
}

/**
 * A desktop notification when a transfer ends (not when the user cancelled
 * it), and when a watched run is delivered or fails. The upload of a
 * watched run is announced once, by its run.
 */
function setupNotifications(service: AppService): void {
  service.onDidEmit((event, payload) => {
    if (!Notification.isSupported()) return;
    let text: { title: string; body: string } | null = null;
    if (event === 'transfers:didFinish') {
      const snapshot = payload as TransferSnapshot;
      if (!service.isWatchJob(snapshot.id)) text = notificationText(snapshot);
    } else if (event === 'watch:didFinishRun') {
      text = runNotificationText(payload as WatchRunFinished);
    }
    if (!text) return;
    const notification = new Notification({
      title: text.title,
      body: text.body,
    });
    notification.on('click', focusMainWindow);
    notification.show();
  });
}

function runNotificationText(finished: WatchRunFinished): {
  title: string;
  body: string;
} | null {
  const { run } = finished;
  const project = finished.projectName ?? 'the project';
  if (run.state === 'assigned') {
    const count = run.assigned.length;
    return {
      title: 'Run delivered',
      body: `${run.name}: ${count} sample${count === 1 ? '' : 's'} assigned to ${project}, analysis started.`,
    };
  }
  if (run.state === 'failed') {
    return { title: 'Run failed', body: `${run.name}: ${run.message}` };
  }
  return null;
}

function notificationText(
  snapshot: TransferSnapshot,
): { title: string; body: string } | null {
  const what = snapshot.kind === 'upload' ? 'Upload' : 'Download';
  if (snapshot.state === 'done') {
    const assigned = snapshot.assigned?.length ?? 0;
    return {
      title: `${what} finished`,
      body:
        assigned > 0
          ? `${snapshot.title}: ${assigned} sample(s) assigned, analysis started.`
          : snapshot.title,
    };
  }
  if (snapshot.state === 'failed') {
    return {
      title: `${what} failed`,
      body: `${snapshot.title}: ${snapshot.error?.message ?? 'see Transfers.'}`,
    };
  }
  return null;
}

/**
 * showTray puts the app in the system tray: its menu says what goes on
 * (kept up to date), opens the window again or quits.
 */
function showTray(service: AppService): void {
  if (tray) return;
  const icon = nativeImage.createFromPath(
    path.join(app.getAppPath(), 'assets', 'icons', '32x32.png'),
  );
  const current = new Tray(icon);
  tray = current;
  // The change events carry the lists: counted from them, not asked for.
  let folders = service.watchFolders();
  let transfers = service.transfers();
  let shown = '';
  const update = (): void => {
    const status = trayStatus(backgroundWorkOf(folders, transfers));
    if (status === shown || tray !== current) return;
    shown = status;
    current.setToolTip(`Gencove Desktop: ${status}`);
    current.setContextMenu(
      Menu.buildFromTemplate([
        { label: status, enabled: false },
        { type: 'separator' },
        { label: 'Open Gencove Desktop', click: focusMainWindow },
        { label: 'Quit', click: () => app.quit() },
      ]),
    );
  };
  update();
  const stop = service.onDidEmit((event, payload) => {
    if (event === 'transfers:didChange') {
      transfers = payload as TransferSnapshot[];
      update();
    } else if (event === 'watch:didChange') {
      folders = payload as WatchFolderView[];
      update();
    }
  });
  stopTrayUpdates = stop;
  current.on('click', focusMainWindow);
}

/** hideTray removes the tray icon once a window is back. */
function hideTray(): void {
  stopTrayUpdates?.();
  stopTrayUpdates = null;
  tray?.destroy();
  tray = null;
}

function setupMenu(): void {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged
          ? []
          : [
              { type: 'separator' as const },
              { role: 'reload' as const },
              { role: 'toggleDevTools' as const },
            ]),
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        { label: 'About Gencove Desktop', click: () => app.showAboutPanel() },
      ],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function setupLifecycle(service: AppService): void {
  // Watched folders and running transfers go on without a window: the app
  // then stays in the tray instead of quitting (Windows, Linux).
  app.on('window-all-closed', () => {
    const next = afterLastWindowClosed(
      process.platform,
      service.backgroundWork(),
    );
    if (next === 'quit') app.quit();
    else if (next === 'tray') showTray(service);
  });
  app.on('browser-window-created', hideTray);
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createMainWindow();
  });

  // Stop the engine (the journal keeps unfinished work) and the sandbox
  // before the process exits.
  let isServiceClosed = false;
  app.on('will-quit', (event) => {
    if (isServiceClosed) return;
    event.preventDefault();
    void service
      .close()
      .catch((err: unknown) => console.error(`main/quit: ${String(err)}`))
      .finally(() => {
        isServiceClosed = true;
        app.quit();
      });
  });
}
