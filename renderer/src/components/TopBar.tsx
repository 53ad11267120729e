/**
 * TopBar: the app's name, navigation (Projects, Transfers with a count of
 * active jobs, Watch folders with a count of folders in trouble), where the
 * session is signed in, and Sign out (asking first while transfers run).
 *
 * data-testid: `nav-projects`, `nav-transfers`, `nav-transfers-count`,
 * `nav-watch`, `nav-watch-count`, `session-host`, `signout-button`.
 */
import type { SessionInfo } from '../../../shared/contract.ts';
import { formatSpeed } from '../lib/format.ts';
import { useAppStore, useAppStoreShallow } from '../store/react.tsx';
import { selectTransferTotals } from '../store/transfersSlice.ts';
import { selectWatchTotals } from '../store/watchSlice.ts';
import { SignOutButton } from './SignOutButton.tsx';

/** hostLabel names where a session is signed in, for people. */
export function hostLabel(session: SessionInfo): string {
  if (session.sandbox || session.host?.kind === 'sandbox') {
    return 'Sandbox';
  }
  if (session.hostUrl) {
    try {
      return new URL(session.hostUrl).host;
    } catch {
      return session.hostUrl;
    }
  }
  return session.host?.kind ?? 'Unknown host';
}

export function TopBar() {
  const session = useAppStore((s) => s.session);
  const view = useAppStore((s) => s.view);
  const navigate = useAppStore((s) => s.navigate);
  const totals = useAppStoreShallow(selectTransferTotals);
  const watchTotals = useAppStoreShallow(selectWatchTotals);

  const onProjects = view.name === 'projects' || view.name === 'project';
  return (
    <header className="topbar">
      <div className="topbar-brand">
        <span className="brand-mark brand-mark-small" aria-hidden="true">
          G
        </span>
        <span className="topbar-title">Gencove Desktop</span>
      </div>
      <nav className="topbar-nav" aria-label="Main">
        <button
          type="button"
          className={`nav-link${onProjects ? ' is-current' : ''}`}
          aria-current={onProjects ? 'page' : undefined}
          onClick={() => navigate({ name: 'projects' })}
          data-testid="nav-projects"
        >
          Projects
        </button>
        <button
          type="button"
          className={`nav-link${view.name === 'transfers' ? ' is-current' : ''}`}
          aria-current={view.name === 'transfers' ? 'page' : undefined}
          onClick={() => navigate({ name: 'transfers' })}
          data-testid="nav-transfers"
        >
          Transfers
          {totals.active > 0 ? (
            <span
              className="nav-count"
              data-testid="nav-transfers-count"
              aria-label={`${totals.active} active`}
            >
              {totals.active}
            </span>
          ) : null}
          {totals.failed > 0 ? (
            <span
              className="nav-count nav-count-danger"
              aria-label={`${totals.failed} failed`}
            >
              {totals.failed}
            </span>
          ) : null}
        </button>
        <button
          type="button"
          className={`nav-link${view.name === 'watch' ? ' is-current' : ''}`}
          aria-current={view.name === 'watch' ? 'page' : undefined}
          onClick={() => navigate({ name: 'watch' })}
          data-testid="nav-watch"
        >
          Watch folders
          {watchTotals.troubled > 0 ? (
            <span
              className="nav-count nav-count-danger"
              data-testid="nav-watch-count"
              aria-label={`${watchTotals.troubled} need attention`}
            >
              {watchTotals.troubled}
            </span>
          ) : null}
        </button>
        {totals.speed > 0 ? (
          <span className="topbar-speed muted" aria-live="off">
            {formatSpeed(totals.speed)}
          </span>
        ) : null}
      </nav>
      {session ? (
        <div className="topbar-session">
          <span className="session-host" data-testid="session-host">
            <span
              className={`host-dot${session.sandbox ? ' host-dot-sandbox' : ''}`}
              aria-hidden="true"
            />
            {hostLabel(session)}
            {session.email ? (
              <span className="muted"> · {session.email}</span>
            ) : null}
          </span>
          <SignOutButton />
        </div>
      ) : null}
    </header>
  );
}
