/**
 * First-start seeding of a sandbox data folder: the demo organization and
 * account, its API key, the pipeline and one capability per public
 * configuration, and the demo projects. Everything is stored, so the account,
 * key and ids stay the same across restarts.
 */
import { randomBytes } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';

import { hashPassword, newApiKey, sha256Hex } from './auth.ts';
import {
  CONFIGURATIONS,
  DEMO_PROJECT_CONFIGURATIONS,
  PIPELINE_VERSION,
  configuration,
} from './catalog.ts';
import { getMeta, setMeta, transaction } from './db.ts';
import { newId, randomToken, timestamp } from './util.ts';

/** Email of the demo account. */
export const DEMO_EMAIL = 'demo@sandbox.local';
/** Email of the optional MFA account (same password as the demo account). */
export const MFA_EMAIL = 'mfa@sandbox.local';
/** The fixed one-time password the MFA account accepts. */
export const MFA_OTP = '123456';

/** What seeding leaves for the server to report. */
export interface SeedResult {
  email: string;
  password: string;
  apiKey: string;
  projectIds: string[];
  jwtSecret: Buffer;
  downloadSecret: Buffer;
}

function secret(db: DatabaseSync, key: string): Buffer {
  let value = getMeta(db, key);
  if (!value) {
    value = randomBytes(32).toString('hex');
    setMeta(db, key, value);
  }
  return Buffer.from(value, 'hex');
}

/**
 * seed creates whatever of the demo data is missing and returns the demo
 * credentials. It is safe to call on every start.
 */
export async function seed(
  db: DatabaseSync,
  options: { now: number; mfaUser: boolean },
): Promise<SeedResult> {
  const created = timestamp(options.now);
  const storedPassword = getMeta(db, 'demo_password');
  const password = storedPassword ?? `demo-${randomToken(12)}`;
  const passwordHash = storedPassword ? null : await hashPassword(password);
  const mfaMissing =
    options.mfaUser &&
    !db.prepare('SELECT 1 FROM users WHERE email = ?').get(MFA_EMAIL);
  const mfaHash = mfaMissing ? await hashPassword(password) : null;

  return transaction(db, () => {
    const jwtSecret = secret(db, 'jwt_secret');
    const downloadSecret = secret(db, 'download_secret');

    let orgId = getMeta(db, 'demo_organization_id');
    if (!orgId) {
      orgId = newId();
      db.prepare(
        'INSERT INTO organizations (id, name, created) VALUES (?, ?, ?)',
      ).run(orgId, 'Sandbox Organization', created);
      setMeta(db, 'demo_organization_id', orgId);
    }

    let userId = getMeta(db, 'demo_user_id');
    if (!userId && passwordHash) {
      userId = newId();
      db.prepare(
        'INSERT INTO users (id, organization_id, email, name, password_hash, otp_code, created) VALUES (?, ?, ?, ?, ?, NULL, ?)',
      ).run(userId, orgId, DEMO_EMAIL, 'Sandbox Demo', passwordHash, created);
      setMeta(db, 'demo_user_id', userId);
      setMeta(db, 'demo_password', password);
    }
    if (!userId) {
      throw new Error('sandbox database is missing its demo user');
    }

    let apiKey = getMeta(db, 'demo_api_key');
    if (!apiKey) {
      const fresh = newApiKey();
      apiKey = fresh.key;
      db.prepare(
        'INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(
        newId(),
        userId,
        'sandbox demo key',
        fresh.prefix,
        sha256Hex(apiKey),
        created,
      );
      setMeta(db, 'demo_api_key', apiKey);
    }

    if (mfaHash) {
      const exists = db
        .prepare('SELECT 1 FROM users WHERE email = ?')
        .get(MFA_EMAIL);
      if (!exists) {
        db.prepare(
          'INSERT INTO users (id, organization_id, email, name, password_hash, otp_code, created) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ).run(
          newId(),
          orgId,
          MFA_EMAIL,
          'Sandbox MFA Demo',
          mfaHash,
          MFA_OTP,
          created,
        );
      }
    }

    let pipelineId = getMeta(db, 'pipeline_id');
    if (!pipelineId) {
      pipelineId = newId();
      db.prepare(
        'INSERT INTO pipelines (id, version, created) VALUES (?, ?, ?)',
      ).run(pipelineId, PIPELINE_VERSION, created);
      setMeta(db, 'pipeline_id', pipelineId);
    }
    const insertCapability = db.prepare(
      'INSERT OR IGNORE INTO capabilities (id, pipeline_id, configuration, created) VALUES (?, ?, ?, ?)',
    );
    for (const c of CONFIGURATIONS) {
      insertCapability.run(newId(), pipelineId, c.id, created);
    }

    let projectIds = JSON.parse(getMeta(db, 'demo_project_ids') ?? 'null') as
      string[] | null;
    if (!projectIds) {
      projectIds = [];
      for (const configId of DEMO_PROJECT_CONFIGURATIONS) {
        const c = configuration(configId);
        const cap = db
          .prepare('SELECT id FROM capabilities WHERE configuration = ?')
          .get(configId) as { id: string } | undefined;
        if (!c || !cap) {
          throw new Error(`sandbox catalogue lacks configuration ${configId}`);
        }
        const id = newId();
        db.prepare(
          "INSERT INTO projects (id, organization_id, name, description, capability_id, modifications, hidden, created, modified) VALUES (?, ?, ?, ?, ?, '[]', 0, ?, ?)",
        ).run(
          id,
          orgId,
          `Sandbox ${c.title}`,
          `Demo project on the ${c.title} configuration (${c.reference}).`,
          cap.id,
          created,
          created,
        );
        projectIds.push(id);
      }
      setMeta(db, 'demo_project_ids', JSON.stringify(projectIds));
    }

    return {
      email: DEMO_EMAIL,
      password,
      apiKey,
      projectIds,
      jwtSecret,
      downloadSecret,
    };
  });
}
