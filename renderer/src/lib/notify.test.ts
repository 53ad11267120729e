// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';

import { createNotifier } from './notify.ts';
import type { NotificationLike } from './notify.ts';

/** A Notification constructor that records what it was asked to show. */
function fakeNotification(permission: NotificationPermission) {
  const shown: string[] = [];
  const Impl = function (this: object, title: string) {
    shown.push(title);
  } as unknown as NotificationLike;
  Object.assign(Impl, {
    permission,
    requestPermission: async () => permission,
  });
  return { Impl, shown };
}

describe('createNotifier()', () => {
  const message = { kind: 'success' as const, title: 'Upload finished', body: 'b' };

  it('shows only a toast in the desktop app, where main raises the system notification', () => {
    const { Impl, shown } = fakeNotification('granted');
    const toasts: string[] = [];
    const notifier = createNotifier({
      mode: 'desktop',
      NotificationImpl: Impl,
      pushToast: (t) => toasts.push(t.title),
    });

    notifier.notify(message);

    expect(shown).toEqual([]);
    expect(toasts).toEqual(['Upload finished']);
  });

  it('uses a system notification in serve mode when the browser allows it', () => {
    const { Impl, shown } = fakeNotification('granted');
    const toasts: string[] = [];
    const notifier = createNotifier({
      mode: 'serve',
      NotificationImpl: Impl,
      pushToast: (t) => toasts.push(t.title),
    });

    notifier.notify(message);

    expect(shown).toEqual(['Upload finished']);
    expect(toasts).toEqual([]);
  });

  it('falls back to a toast in serve mode without permission', () => {
    const { Impl, shown } = fakeNotification('denied');
    const toasts: string[] = [];
    const notifier = createNotifier({
      mode: 'serve',
      NotificationImpl: Impl,
      pushToast: (t) => toasts.push(t.title),
    });

    notifier.notify(message);

    expect(shown).toEqual([]);
    expect(toasts).toEqual(['Upload finished']);
  });
});
