/**
 * SampleTable: a project's samples as a windowed grid (fixed row height;
 * only the rows in view plus an overscan are in the DOM, so 10,000+ rows
 * stay smooth), with a status filter, a text filter, sorting by any column,
 * multi-selection (checkboxes, Shift for ranges) and keyboard use (arrows,
 * Page Up/Down, Home/End, Enter opens, Space selects).
 *
 * data-testid: `sample-table` (the grid), `sample-grid-body` (full-height
 * spacer), `sample-grid-window` (the rendered rows), `sample-status-filter`,
 * `sample-search`, `sample-count`, `sample-select-all`,
 * `sample-clear-selection`, `sample-sort-<column>` (header buttons:
 * clientId, id, status, qc, created, modified), `sample-row` (with
 * `data-sample-id`, `data-index`), `sample-select` (row checkbox),
 * `sample-client-id`, `sample-status` (with `data-status`), `sample-qc`,
 * `samples-empty`, `samples-no-match`.
 */
import {
  memo,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import type { KeyboardEvent, MouseEvent, UIEvent } from 'react';

import type { SampleRow } from '../../../shared/domain.ts';
import {
  formatDateTime,
  formatShortDateTime,
  parseTimestamp,
  plural,
} from '../lib/format.ts';
import {
  STATUS_FILTERS,
  isTerminalStatus,
  matchesStatusFilter,
  qcLabel,
  statusTone,
} from '../lib/status.ts';
import type { StatusFilter } from '../lib/status.ts';
import { StatusBadge } from './StatusBadge.tsx';

/** Height of every row, header included, in CSS pixels. */
export const ROW_HEIGHT = 40;
/** Rows rendered beyond each edge of the viewport. */
export const OVERSCAN = 8;
/** Viewport height used when it cannot be measured (hidden, or jsdom). */
export const FALLBACK_VIEWPORT_HEIGHT = 560;

export type SortColumn =
  'clientId' | 'id' | 'status' | 'qc' | 'created' | 'modified';
export interface SortOrder {
  column: SortColumn;
  direction: 'asc' | 'desc';
}

const COLUMNS: readonly { key: SortColumn; label: string }[] = [
  { key: 'clientId', label: 'Client id' },
  { key: 'id', label: 'Gencove id' },
  { key: 'status', label: 'Status' },
  { key: 'qc', label: 'QC' },
  { key: 'created', label: 'Created' },
  { key: 'modified', label: 'Modified' },
];

/**
 * computeWindow returns the half-open range [start, end) of rows to render
 * for a scroll position: the rows in view plus `overscan` on each side,
 * clamped to [0, count].
 */
export function computeWindow(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  count: number,
  overscan: number,
): { start: number; end: number } {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const visible = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const start = Math.max(0, Math.min(count, first - overscan));
  const end = Math.max(start, Math.min(count, first + visible + overscan));
  return { start, end };
}

const collator = new Intl.Collator(undefined, {
  numeric: true,
  sensitivity: 'base',
});

const QC_RANK: Record<string, number> = {
  Failed: 0,
  'n/a': 1,
  Pending: 2,
  Passed: 3,
};

function qcRank(row: SampleRow): number {
  return QC_RANK[qcLabel(row).text] ?? 1;
}

/**
 * statusRank orders statuses by lifecycle: anything still in progress (0),
 * then succeeded (1), failed QC (2), other failures (3), no status (4).
 */
export function statusRank(status: string): number {
  const s = status.trim().toLowerCase();
  if (s === '') {
    return 4;
  }
  if (!isTerminalStatus(s)) {
    return 0;
  }
  if (s.startsWith('succeeded')) {
    return 1;
  }
  return s.startsWith('failed qc') ? 2 : 3;
}

/**
 * sortSamples returns a sorted copy (statuses by {@link statusRank}, then
 * by name); ties keep a stable order by Gencove
 * id so that refreshes do not shuffle equal rows.
 */
export function sortSamples(rows: SampleRow[], order: SortOrder): SampleRow[] {
  const sign = order.direction === 'asc' ? 1 : -1;
  const keyed = rows.map((row) => {
    switch (order.column) {
      case 'created':
        return { row, n: parseTimestamp(row.created) || 0, s: '' };
      case 'modified':
        return { row, n: parseTimestamp(row.modified) || 0, s: '' };
      case 'qc':
        return { row, n: qcRank(row), s: '' };
      case 'clientId':
        return { row, n: 0, s: row.clientId };
      case 'id':
        return { row, n: 0, s: row.id };
      case 'status':
        return { row, n: statusRank(row.status), s: row.status };
    }
  });
  keyed.sort((a, b) => {
    const primary = a.n !== b.n ? a.n - b.n : collator.compare(a.s, b.s);
    if (primary !== 0) {
      return primary * sign;
    }
    return a.row.id < b.row.id ? -1 : a.row.id > b.row.id ? 1 : 0;
  });
  return keyed.map((k) => k.row);
}

function matchesText(row: SampleRow, query: string): boolean {
  if (query === '') {
    return true;
  }
  return (
    row.clientId.toLowerCase().includes(query) ||
    row.id.toLowerCase().includes(query) ||
    row.status.toLowerCase().includes(query)
  );
}

export interface SampleTableProps {
  rows: SampleRow[];
  selection: ReadonlySet<string>;
  /** Called with the complete new selection. */
  onSelectionChange: (ids: Set<string>) => void;
  /** Called when a row is clicked or Enter is pressed on it. */
  onOpen: (row: SampleRow) => void;
  /** The sample whose detail is open, highlighted. */
  openSampleId?: string | null;
  /** Shown when the project has no samples at all. */
  emptyMessage?: string;
}

export function SampleTable(props: SampleTableProps) {
  const { rows, selection, onSelectionChange, onOpen } = props;
  const [statusFilter, setStatusFilter] = useState<StatusFilter>('all');
  const [query, setQuery] = useState('');
  const [order, setOrder] = useState<SortOrder>({
    column: 'modified',
    direction: 'desc',
  });
  const [first, setFirst] = useState(0);
  const [viewportHeight, setViewportHeight] = useState(
    FALLBACK_VIEWPORT_HEIGHT,
  );
  const [activeId, setActiveId] = useState<string | null>(null);
  const anchorRef = useRef<string | null>(null);
  const viewportRef = useRef<HTMLDivElement>(null);

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    const filtered =
      statusFilter === 'all' && q === ''
        ? rows
        : rows.filter(
            (r) => matchesStatusFilter(r, statusFilter) && matchesText(r, q),
          );
    return sortSamples(filtered, order);
  }, [rows, statusFilter, query, order]);

  const indexById = useMemo(() => {
    const map = new Map<string, number>();
    shown.forEach((r, i) => map.set(r.id, i));
    return map;
  }, [shown]);

  useLayoutEffect(() => {
    const el = viewportRef.current;
    if (!el) {
      return;
    }
    const measure = () => {
      const h = el.clientHeight - ROW_HEIGHT;
      setViewportHeight(h > 0 ? h : FALLBACK_VIEWPORT_HEIGHT);
    };
    measure();
    if (typeof ResizeObserver !== 'undefined') {
      const observer = new ResizeObserver(measure);
      observer.observe(el);
      return () => observer.disconnect();
    }
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, []);

  // A shorter list (filter, refresh) can leave the old position past its end.
  useEffect(() => {
    const el = viewportRef.current;
    const maxFirst = Math.max(0, shown.length - 1);
    if (first > maxFirst && el) {
      el.scrollTop = 0;
      setFirst(0);
    }
  }, [shown.length, first]);

  const onScroll = useCallback((event: UIEvent<HTMLDivElement>) => {
    const next = Math.floor(event.currentTarget.scrollTop / ROW_HEIGHT);
    setFirst((prev) => (prev === next ? prev : next));
  }, []);

  const { start, end } = computeWindow(
    first * ROW_HEIGHT,
    viewportHeight,
    ROW_HEIGHT,
    shown.length,
    OVERSCAN,
  );

  const scrollToIndex = useCallback(
    (index: number) => {
      const el = viewportRef.current;
      if (!el) {
        return;
      }
      const top = index * ROW_HEIGHT;
      const bottom = top + ROW_HEIGHT;
      let next = el.scrollTop;
      if (top < next) {
        next = top;
      } else if (bottom > next + viewportHeight) {
        next = bottom - viewportHeight;
      }
      if (next !== el.scrollTop) {
        el.scrollTop = next;
      }
      setFirst(Math.floor(next / ROW_HEIGHT));
    },
    [viewportHeight],
  );

  // Handlers read the latest props through refs so memoised rows stay put.
  const latest = useRef({
    shown,
    selection,
    onSelectionChange,
    onOpen,
    indexById,
  });
  latest.current = { shown, selection, onSelectionChange, onOpen, indexById };

  const toggleRow = useCallback((id: string, range: boolean) => {
    const {
      shown: list,
      selection: sel,
      onSelectionChange: change,
      indexById: idx,
    } = latest.current;
    const next = new Set(sel);
    const anchor = anchorRef.current;
    const want = !sel.has(id);
    if (range && anchor !== null && idx.has(anchor) && idx.has(id)) {
      const a = idx.get(anchor) as number;
      const b = idx.get(id) as number;
      for (let i = Math.min(a, b); i <= Math.max(a, b); i += 1) {
        if (want) {
          next.add(list[i].id);
        } else {
          next.delete(list[i].id);
        }
      }
    } else if (want) {
      next.add(id);
    } else {
      next.delete(id);
    }
    anchorRef.current = id;
    change(next);
  }, []);

  const openRow = useCallback((id: string) => {
    const { shown: list, onOpen: open, indexById: idx } = latest.current;
    const i = idx.get(id);
    if (i !== undefined) {
      setActiveId(id);
      open(list[i]);
    }
  }, []);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.target !== event.currentTarget || shown.length === 0) {
      return;
    }
    const current = activeId !== null ? indexById.get(activeId) : undefined;
    const page = Math.max(1, Math.floor(viewportHeight / ROW_HEIGHT) - 1);
    let next: number | null = null;
    switch (event.key) {
      case 'ArrowDown':
        next =
          current === undefined ? 0 : Math.min(shown.length - 1, current + 1);
        break;
      case 'ArrowUp':
        next = current === undefined ? 0 : Math.max(0, current - 1);
        break;
      case 'PageDown':
        next = Math.min(shown.length - 1, (current ?? 0) + page);
        break;
      case 'PageUp':
        next = Math.max(0, (current ?? 0) - page);
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = shown.length - 1;
        break;
      case 'Enter':
        if (current !== undefined) {
          event.preventDefault();
          onOpen(shown[current]);
        }
        return;
      case ' ':
        if (current !== undefined) {
          event.preventDefault();
          toggleRow(shown[current].id, event.shiftKey);
        }
        return;
      case 'a':
        if (event.ctrlKey || event.metaKey) {
          event.preventDefault();
          onSelectionChange(new Set([...selection, ...shown.map((r) => r.id)]));
        }
        return;
      default:
        return;
    }
    event.preventDefault();
    setActiveId(shown[next].id);
    scrollToIndex(next);
  }

  function sortBy(column: SortColumn) {
    setOrder((prev) =>
      prev.column === column
        ? { column, direction: prev.direction === 'asc' ? 'desc' : 'asc' }
        : {
            column,
            direction:
              column === 'created' || column === 'modified' ? 'desc' : 'asc',
          },
    );
  }

  const shownSelected = useMemo(
    () => shown.reduce((n, r) => (selection.has(r.id) ? n + 1 : n), 0),
    [shown, selection],
  );
  const allShownSelected = shown.length > 0 && shownSelected === shown.length;
  const selectAllRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (selectAllRef.current) {
      selectAllRef.current.indeterminate =
        shownSelected > 0 && !allShownSelected;
    }
  }, [shownSelected, allShownSelected]);

  function toggleAllShown() {
    const next = new Set(selection);
    for (const r of shown) {
      if (allShownSelected) {
        next.delete(r.id);
      } else {
        next.add(r.id);
      }
    }
    onSelectionChange(next);
  }

  const filtered = statusFilter !== 'all' || query.trim() !== '';
  const activeIndex = activeId !== null ? indexById.get(activeId) : undefined;
  const windowRows: SampleRow[] = shown.slice(start, end);

  return (
    <div className="sample-table">
      <div className="toolbar" role="search">
        <label className="field-inline">
          <span className="field-label">Status</span>
          <select
            value={statusFilter}
            onChange={(e) => setStatusFilter(e.target.value as StatusFilter)}
            data-testid="sample-status-filter"
          >
            {STATUS_FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </label>
        <label className="search-field">
          <span className="visually-hidden">
            Filter samples by client id, Gencove id or status
          </span>
          <input
            type="search"
            placeholder="Filter by client id or Gencove id"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            data-testid="sample-search"
          />
        </label>
        <span
          className="muted small"
          data-testid="sample-count"
          aria-live="polite"
        >
          {filtered
            ? `${shown.length.toLocaleString()} of ${plural(rows.length, 'sample')}`
            : plural(rows.length, 'sample')}
          {selection.size > 0
            ? ` · ${selection.size.toLocaleString()} selected`
            : ''}
        </span>
        {selection.size > 0 ? (
          <button
            type="button"
            className="button button-ghost button-small"
            onClick={() => onSelectionChange(new Set())}
            data-testid="sample-clear-selection"
          >
            Clear selection
          </button>
        ) : null}
      </div>

      <div
        className="grid"
        role="grid"
        aria-label="Samples"
        aria-rowcount={shown.length + 1}
        aria-colcount={COLUMNS.length + 1}
        aria-multiselectable="true"
        aria-activedescendant={
          activeIndex !== undefined && activeIndex >= start && activeIndex < end
            ? `sample-row-${shown[activeIndex].id}`
            : undefined
        }
        tabIndex={0}
        ref={viewportRef}
        onScroll={onScroll}
        onKeyDown={onKeyDown}
        data-testid="sample-table"
        data-row-count={shown.length}
      >
        <div className="grid-head" role="rowgroup">
          <div
            className="grid-row grid-header-row"
            role="row"
            aria-rowindex={1}
          >
            <div className="grid-cell grid-cell-select" role="columnheader">
              <input
                type="checkbox"
                ref={selectAllRef}
                checked={allShownSelected}
                onChange={toggleAllShown}
                disabled={shown.length === 0}
                aria-label={
                  allShownSelected
                    ? 'Unselect all shown samples'
                    : 'Select all shown samples'
                }
                data-testid="sample-select-all"
              />
            </div>
            {COLUMNS.map((c) => {
              const sorted = order.column === c.key;
              return (
                <div
                  key={c.key}
                  className={`grid-cell grid-cell-${c.key}`}
                  role="columnheader"
                  aria-sort={
                    sorted
                      ? order.direction === 'asc'
                        ? 'ascending'
                        : 'descending'
                      : 'none'
                  }
                >
                  <button
                    type="button"
                    className={`sort-button${sorted ? ' is-sorted' : ''}`}
                    onClick={() => sortBy(c.key)}
                    data-testid={`sample-sort-${c.key}`}
                  >
                    {c.label}
                    <span className="sort-mark" aria-hidden="true">
                      {sorted ? (order.direction === 'asc' ? '▲' : '▼') : ''}
                    </span>
                  </button>
                </div>
              );
            })}
          </div>
        </div>
        {/* The body is as tall as every row; only the window is rendered,
            moved into place as one block (one style write per scroll). */}
        <div
          className="grid-body"
          style={{ height: shown.length * ROW_HEIGHT }}
          data-testid="sample-grid-body"
        >
          <div
            className="grid-window"
            role="rowgroup"
            style={{ transform: `translateY(${start * ROW_HEIGHT}px)` }}
            data-testid="sample-grid-window"
          >
            {windowRows.map((row, i) => (
              <SampleGridRow
                key={row.id}
                row={row}
                index={start + i}
                selected={selection.has(row.id)}
                active={row.id === activeId}
                open={row.id === props.openSampleId}
                onToggle={toggleRow}
                onOpen={openRow}
              />
            ))}
          </div>
        </div>
        {rows.length === 0 ? (
          <div className="grid-empty" data-testid="samples-empty">
            {props.emptyMessage ?? 'No samples yet.'}
          </div>
        ) : shown.length === 0 ? (
          <div className="grid-empty" data-testid="samples-no-match">
            No sample matches these filters.{' '}
            <button
              type="button"
              className="link-button"
              onClick={() => {
                setStatusFilter('all');
                setQuery('');
              }}
            >
              Clear filters
            </button>
          </div>
        ) : null}
      </div>
    </div>
  );
}

interface SampleGridRowProps {
  row: SampleRow;
  index: number;
  selected: boolean;
  active: boolean;
  open: boolean;
  onToggle: (id: string, range: boolean) => void;
  onOpen: (id: string) => void;
}

const SampleGridRow = memo(function SampleGridRow(props: SampleGridRowProps) {
  const { row } = props;
  const qc = qcLabel(row);
  const archived =
    row.archiveStatus !== null &&
    row.archiveStatus !== '' &&
    !/^(available|restored)/i.test(row.archiveStatus);
  const classes = [
    'grid-row',
    props.index % 2 === 1 ? 'is-odd' : '',
    props.selected ? 'is-selected' : '',
    props.active ? 'is-active' : '',
    props.open ? 'is-open' : '',
  ]
    .filter(Boolean)
    .join(' ');

  function onCheckbox(event: MouseEvent<HTMLInputElement>) {
    event.stopPropagation();
    props.onToggle(row.id, event.shiftKey);
  }

  return (
    <div
      className={classes}
      role="row"
      id={`sample-row-${row.id}`}
      aria-rowindex={props.index + 2}
      aria-selected={props.selected}
      onClick={() => props.onOpen(row.id)}
      data-testid="sample-row"
      data-sample-id={row.id}
      data-index={props.index}
    >
      <div className="grid-cell grid-cell-select" role="gridcell">
        <input
          type="checkbox"
          checked={props.selected}
          onClick={onCheckbox}
          onChange={() => undefined}
          aria-label={`Select ${row.clientId}`}
          tabIndex={-1}
          data-testid="sample-select"
        />
      </div>
      <div
        className="grid-cell grid-cell-clientId strong"
        role="gridcell"
        title={row.clientId}
        data-testid="sample-client-id"
      >
        {row.clientId}
      </div>
      <div
        className="grid-cell grid-cell-id mono"
        role="gridcell"
        title={row.id}
      >
        {row.id}
      </div>
      <div
        className="grid-cell grid-cell-status"
        role="gridcell"
        data-testid="sample-status"
        data-status={row.status}
      >
        <StatusBadge
          text={row.status || 'unknown'}
          tone={statusTone(row.status)}
        />
        {archived ? (
          <span className="tag" title={`Archive status: ${row.archiveStatus}`}>
            {row.archiveStatus}
          </span>
        ) : null}
      </div>
      <div
        className="grid-cell grid-cell-qc"
        role="gridcell"
        data-testid="sample-qc"
      >
        <StatusBadge text={qc.text} tone={qc.tone} />
      </div>
      <div
        className="grid-cell grid-cell-created nowrap"
        role="gridcell"
        title={formatDateTime(row.created)}
      >
        {formatShortDateTime(row.created)}
      </div>
      <div
        className="grid-cell grid-cell-modified nowrap"
        role="gridcell"
        title={formatDateTime(row.modified)}
      >
        {formatShortDateTime(row.modified)}
      </div>
    </div>
  );
});
