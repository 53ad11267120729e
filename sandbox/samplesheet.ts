/**
 * Grouping of uploads into sample-sheet rows, the platform's server-side
 * rule (see naming.ts for how one file name is read).
 *
 * Uploads are grouped by (folder of the destination path, client id). Within
 * a group, uploads are placed in creation order: each goes to the first row
 * whose slot for its read (R1 or R2) is still empty, or starts a new row. So
 * `S1_L001_R1`, `S1_L002_R1`, `S1_L001_R2`, `S1_L002_R2` in one folder become
 * two rows, paired in upload order. A lone R2 makes a row without `r1`; a
 * name without a read token is an R1 (single-end row, `r2` absent).
 */
import { baseName, folderOf, parseUploadName } from './naming.ts';

/** The fields of an upload the grouping needs. */
export interface SheetUpload {
  id: string;
  destinationPath: string;
  created: string;
  modified: string;
}

/** One sample-sheet row before serialisation. */
export interface SheetRow<U extends SheetUpload> {
  clientId: string;
  folder: string;
  r1: U | null;
  r2: U | null;
  /** Earliest `created` of the row's uploads. */
  created: string;
  /** Latest `modified` of the row's uploads. */
  modified: string;
}

/**
 * groupSheetRows groups `uploads` into rows (see the module comment) and
 * returns them sorted by `sortBy` in `order` (ties broken by upload id).
 */
export function groupSheetRows<U extends SheetUpload>(
  uploads: U[],
  sortBy: 'created' | 'modified',
  order: 'asc' | 'desc',
): SheetRow<U>[] {
  const ordered = [...uploads].sort(
    (a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id),
  );
  const groups = new Map<string, SheetRow<U>[]>();
  const rows: SheetRow<U>[] = [];
  for (const upload of ordered) {
    const folder = folderOf(upload.destinationPath);
    const parsed = parseUploadName(baseName(upload.destinationPath));
    const key = `${folder}\u0000${parsed.clientId}`;
    const group = groups.get(key) ?? [];
    groups.set(key, group);
    const slot = parsed.read === 'R1' ? 'r1' : 'r2';
    let row = group.find((r) => r[slot] === null);
    if (!row) {
      row = {
        clientId: parsed.clientId,
        folder,
        r1: null,
        r2: null,
        created: upload.created,
        modified: upload.modified,
      };
      group.push(row);
      rows.push(row);
    }
    row[slot] = upload;
    if (upload.created < row.created) {
      row.created = upload.created;
    }
    if (upload.modified > row.modified) {
      row.modified = upload.modified;
    }
  }
  const sign = order === 'asc' ? 1 : -1;
  const firstId = (r: SheetRow<U>): string => (r.r1 ?? r.r2)?.id ?? '';
  return rows.sort(
    (a, b) =>
      sign * a[sortBy].localeCompare(b[sortBy]) ||
      sign * firstId(a).localeCompare(firstId(b)),
  );
}
