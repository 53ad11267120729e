/**
 * App: the whole renderer — sign-in until a session exists, then the top
 * bar and the current screen (projects, one project, transfers, watch
 * folders), with
 * toasts and the serve-mode connection banner.
 *
 * data-testid: `app` (with `data-view`), `app-loading`, `app-error`.
 */
import { useEffect } from 'react';

import { useAppStore } from '../store/react.tsx';
import { ConnectionBanner } from './ConnectionBanner.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { ProjectDetail } from './ProjectDetail.tsx';
import { ProjectsList } from './ProjectsList.tsx';
import { SignIn } from './SignIn.tsx';
import { Toasts } from './Toasts.tsx';
import { TopBar } from './TopBar.tsx';
import { TransfersView } from './TransfersView.tsx';
import { WatchFoldersView } from './WatchFoldersView.tsx';

/**
 * preventStrayDrops stops the browser from opening files dropped outside a
 * drop zone (which would navigate away from the app).
 */
function usePreventStrayDrops() {
  useEffect(() => {
    const stop = (event: DragEvent) => {
      if (
        event.dataTransfer &&
        Array.from(event.dataTransfer.types).includes('Files')
      ) {
        event.preventDefault();
      }
    };
    window.addEventListener('dragover', stop);
    window.addEventListener('drop', stop);
    return () => {
      window.removeEventListener('dragover', stop);
      window.removeEventListener('drop', stop);
    };
  }, []);
}

export function App() {
  const session = useAppStore((s) => s.session);
  const status = useAppStore((s) => s.sessionStatus);
  const error = useAppStore((s) => s.sessionError);
  const loadSession = useAppStore((s) => s.loadSession);
  const loadTransfers = useAppStore((s) => s.loadTransfers);
  const loadWatchFolders = useAppStore((s) => s.loadWatchFolders);
  const view = useAppStore((s) => s.view);
  const isSignedIn = session?.signedIn === true;
  usePreventStrayDrops();

  useEffect(() => {
    void loadSession();
    void loadTransfers();
  }, [loadSession, loadTransfers]);

  // The top bar counts folders in trouble; their runs tell which uploads
  // are announced by the run instead of by the transfer.
  useEffect(() => {
    if (isSignedIn) {
      void loadWatchFolders();
    }
  }, [isSignedIn, loadWatchFolders]);

  let body;
  if (!session) {
    body =
      status === 'error' && error ? (
        <main className="center-screen" data-testid="app-error">
          <div className="center-card">
            <h1>Gencove Desktop cannot start</h1>
            <ErrorNote
              error={error}
              title="The app could not reach its engine."
              onRetry={() => void loadSession()}
            />
          </div>
        </main>
      ) : (
        <main
          className="center-screen"
          data-testid="app-loading"
          aria-busy="true"
        >
          <span className="spinner" aria-hidden="true" />
          <span className="muted">Starting…</span>
        </main>
      );
  } else if (!session.signedIn) {
    body = <SignIn />;
  } else {
    body = (
      <div className="shell">
        <TopBar />
        <main className="main">
          {view.name === 'projects' ? <ProjectsList /> : null}
          {view.name === 'project' ? (
            <ProjectDetail key={view.projectId} projectId={view.projectId} />
          ) : null}
          {view.name === 'transfers' ? <TransfersView /> : null}
          {view.name === 'watch' ? <WatchFoldersView /> : null}
        </main>
      </div>
    );
  }

  return (
    <div
      className="app"
      data-testid="app"
      data-view={session?.signedIn ? view.name : 'signin'}
    >
      <ConnectionBanner />
      {body}
      <Toasts />
    </div>
  );
}
