// @vitest-environment jsdom
import {
  cleanup,
  fireEvent,
  render,
  screen,
  within,
} from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { makeRows } from '../test/factories.ts';
import {
  FALLBACK_VIEWPORT_HEIGHT,
  OVERSCAN,
  ROW_HEIGHT,
  SampleTable,
  computeWindow,
  sortSamples,
  statusRank,
} from './SampleTable.tsx';

afterEach(cleanup);

function renderTable(
  n: number,
  props: Partial<Parameters<typeof SampleTable>[0]> = {},
) {
  const rows = makeRows(n);
  const onSelectionChange = vi.fn();
  const onOpen = vi.fn();
  const utils = render(
    <SampleTable
      rows={rows}
      selection={new Set()}
      onSelectionChange={onSelectionChange}
      onOpen={onOpen}
      {...props}
    />,
  );
  return { ...utils, rows, onSelectionChange, onOpen };
}

function renderedRows(): HTMLElement[] {
  return screen.queryAllByTestId('sample-row');
}

function indexes(): number[] {
  return renderedRows().map((r) => Number(r.dataset.index));
}

describe('computeWindow()', () => {
  const cases = [
    // normal
    {
      name: 'top of a long list',
      scrollTop: 0,
      height: 400,
      count: 1000,
      want: [0, 19],
    },
    {
      name: 'middle of a long list',
      scrollTop: 4000,
      height: 400,
      count: 1000,
      want: [92, 119],
    },
    // short lists
    {
      name: 'list shorter than the viewport',
      scrollTop: 0,
      height: 400,
      count: 5,
      want: [0, 5],
    },
    { name: 'empty list', scrollTop: 0, height: 400, count: 0, want: [0, 0] },
    // extremes
    {
      name: 'scrolled past the end',
      scrollTop: 1e9,
      height: 400,
      count: 1000,
      want: [1000, 1000],
    },
    {
      name: 'negative scroll (elastic)',
      scrollTop: -50,
      height: 400,
      count: 1000,
      want: [0, 19],
    },
    { name: 'zero height', scrollTop: 0, height: 0, count: 1000, want: [0, 9] },
  ];
  for (const c of cases) {
    it(`returns [${c.want.join(', ')}) for ${c.name}`, () => {
      const { start, end } = computeWindow(
        c.scrollTop,
        c.height,
        40,
        c.count,
        8,
      );

      expect([start, end]).toEqual(c.want);
    });
  }
});

describe('SampleTable', () => {
  describe('virtualisation', () => {
    it('puts only a window of 10,000 rows in the DOM', () => {
      renderTable(10_000);

      const grid = screen.getByTestId('sample-table');
      const expectedMax =
        Math.ceil(FALLBACK_VIEWPORT_HEIGHT / ROW_HEIGHT) + 1 + 2 * OVERSCAN;
      expect(grid.getAttribute('aria-rowcount')).toBe('10001');
      expect(renderedRows().length).toBeGreaterThan(5);
      expect(renderedRows().length).toBeLessThanOrEqual(expectedMax);
      expect(indexes()[0]).toBe(0);
    });

    it('renders the rows around the scroll position after a scroll', () => {
      renderTable(10_000);
      const grid = screen.getByTestId('sample-table');

      grid.scrollTop = 5_000 * ROW_HEIGHT;
      fireEvent.scroll(grid);

      const shown = indexes();
      expect(shown).toContain(5_000);
      expect(shown).not.toContain(0);
      expect(Math.min(...shown)).toBe(5_000 - OVERSCAN);
      const windowEl = screen.getByTestId('sample-grid-window');
      expect(windowEl.style.transform).toBe(
        `translateY(${(5_000 - OVERSCAN) * ROW_HEIGHT}px)`,
      );
      expect(renderedRows()[0].dataset.index).toBe(String(5_000 - OVERSCAN));
    });

    it('sizes the scroll area for every row', () => {
      renderTable(10_000);

      const body = screen.getByTestId('sample-grid-body');
      expect(body.style.height).toBe(`${10_000 * ROW_HEIGHT}px`);
    });
  });

  describe('filter', () => {
    it('shows only failed samples when filtered by failed', () => {
      const { rows } = renderTable(10_000);

      fireEvent.change(screen.getByTestId('sample-status-filter'), {
        target: { value: 'failed' },
      });

      const expected = rows.filter((r) => r.status.startsWith('failed')).length;
      expect(screen.getByTestId('sample-table').dataset.rowCount).toBe(
        String(expected),
      );
      const statuses = screen
        .getAllByTestId('sample-status')
        .map((c) => c.dataset.status);
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.every((s) => s?.startsWith('failed'))).toBe(true);
      expect(screen.getByTestId('sample-count').textContent).toContain(
        `${expected.toLocaleString()} of 10,000 samples`,
      );
    });

    it('shows running samples (not terminal) when filtered by in progress', () => {
      renderTable(50);

      fireEvent.change(screen.getByTestId('sample-status-filter'), {
        target: { value: 'running' },
      });

      const statuses = screen
        .getAllByTestId('sample-status')
        .map((c) => c.dataset.status);
      expect(statuses).toEqual(Array(10).fill('running'));
    });

    it('filters by client id text', () => {
      renderTable(10_000);

      fireEvent.change(screen.getByTestId('sample-search'), {
        target: { value: 'C9999' },
      });

      const ids = screen
        .getAllByTestId('sample-client-id')
        .map((c) => c.textContent);
      expect(ids).toEqual(['C9999']);
    });

    it('says so when no row matches, and clears the filters on request', () => {
      renderTable(20);
      fireEvent.change(screen.getByTestId('sample-search'), {
        target: { value: 'nothing-like-this' },
      });

      const note = screen.getByTestId('samples-no-match');
      fireEvent.click(
        within(note).getByRole('button', { name: 'Clear filters' }),
      );

      expect(renderedRows().length).toBe(20);
    });
  });

  describe('sort', () => {
    it('sorts by client id ascending, then descending, with natural number order', () => {
      renderTable(10_000);

      fireEvent.click(screen.getByTestId('sample-sort-clientId'));
      const asc = screen
        .getAllByTestId('sample-client-id')
        .slice(0, 3)
        .map((c) => c.textContent);
      fireEvent.click(screen.getByTestId('sample-sort-clientId'));
      const desc = screen
        .getAllByTestId('sample-client-id')
        .slice(0, 3)
        .map((c) => c.textContent);

      expect(asc).toEqual(['C0', 'C1', 'C2']);
      expect(desc).toEqual(['C9999', 'C9998', 'C9997']);
      const header = screen
        .getByTestId('sample-sort-clientId')
        .closest('[role="columnheader"]');
      expect(header?.getAttribute('aria-sort')).toBe('descending');
    });

    it('sorts by status in lifecycle order: in progress, succeeded, failed QC, failed', () => {
      renderTable(10);

      fireEvent.click(screen.getByTestId('sample-sort-status'));

      const statuses = screen
        .getAllByTestId('sample-status')
        .map((c) => c.dataset.status);
      expect([...new Set(statuses)]).toEqual([
        'running',
        'succeeded',
        'failed qc',
        'failed',
      ]);
    });

    it('statusRank puts unknown in-progress statuses first and no status last', () => {
      const ranked = ['failed', '', 'scheduled', 'failed qc', 'Succeeded']
        .map((s) => ({ s, rank: statusRank(s) }))
        .sort((a, b) => a.rank - b.rank)
        .map((x) => x.s);

      expect(ranked).toEqual([
        'scheduled',
        'Succeeded',
        'failed qc',
        'failed',
        '',
      ]);
    });

    it('sortSamples orders dates by time, not by text', () => {
      const rows = makeRows(3);
      rows[0].created = '2024-01-02 09:00:00.000000+00:00';
      rows[1].created = '2024-01-01T23:00:00Z';
      rows[2].created = '2024-01-02T08:00:00+02:00';

      const sorted = sortSamples(rows, { column: 'created', direction: 'asc' });

      expect(sorted.map((r) => r.clientId)).toEqual(['C1', 'C2', 'C0']);
    });
  });

  describe('selection and opening', () => {
    it('selects a row with its checkbox without opening it', () => {
      const { onSelectionChange, onOpen, rows } = renderTable(100);

      fireEvent.click(screen.getAllByTestId('sample-select')[0]);

      expect(onSelectionChange).toHaveBeenCalledTimes(1);
      const picked = [...(onSelectionChange.mock.calls[0][0] as Set<string>)];
      const firstShown = renderedRows()[0].dataset.sampleId;
      expect(picked).toEqual([firstShown]);
      expect(rows.some((r) => r.id === firstShown)).toBe(true);
      expect(onOpen).not.toHaveBeenCalled();
    });

    it('selects a range with Shift', () => {
      const rows = makeRows(100);
      const onSelectionChange = vi.fn();
      const { rerender } = render(
        <SampleTable
          rows={rows}
          selection={new Set()}
          onSelectionChange={onSelectionChange}
          onOpen={() => undefined}
        />,
      );
      fireEvent.click(screen.getAllByTestId('sample-select')[1]);
      const first = onSelectionChange.mock.calls[0][0] as Set<string>;
      rerender(
        <SampleTable
          rows={rows}
          selection={first}
          onSelectionChange={onSelectionChange}
          onOpen={() => undefined}
        />,
      );

      fireEvent.click(screen.getAllByTestId('sample-select')[4], {
        shiftKey: true,
      });

      const range = onSelectionChange.mock.calls[1][0] as Set<string>;
      const expected = renderedRows()
        .slice(1, 5)
        .map((r) => r.dataset.sampleId);
      expect([...range].sort()).toEqual([...expected].sort());
    });

    it('selects every shown row with the header checkbox', () => {
      const { onSelectionChange } = renderTable(10_000);
      fireEvent.change(screen.getByTestId('sample-status-filter'), {
        target: { value: 'succeeded' },
      });

      fireEvent.click(screen.getByTestId('sample-select-all'));

      expect((onSelectionChange.mock.calls[0][0] as Set<string>).size).toBe(
        4_000,
      );
    });

    it('opens the clicked row', () => {
      const { onOpen } = renderTable(10);

      fireEvent.click(renderedRows()[2]);

      expect(onOpen).toHaveBeenCalledWith(
        expect.objectContaining({ id: renderedRows()[2].dataset.sampleId }),
      );
    });

    it('moves with the arrow keys and opens with Enter', () => {
      const { onOpen } = renderTable(10_000);
      const grid = screen.getByTestId('sample-table');
      grid.focus();

      fireEvent.keyDown(grid, { key: 'ArrowDown' });
      fireEvent.keyDown(grid, { key: 'ArrowDown' });
      fireEvent.keyDown(grid, { key: 'End' });
      fireEvent.keyDown(grid, { key: 'Enter' });

      const opened = onOpen.mock.calls[0][0] as { id: string };
      const last = renderedRows().find((r) => r.dataset.index === '9999');
      expect(last?.dataset.sampleId).toBe(opened.id);
      expect(grid.getAttribute('aria-activedescendant')).toBe(
        `sample-row-${opened.id}`,
      );
    });
  });
});
