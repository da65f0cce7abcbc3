/** Rendered droplet files of every shipped environment, for snapshot and real-tool tests. */
import path from 'node:path';
import { environmentNames, loadEnvironment } from '../../config/load.js';
import type { AppConfig } from '../../config/schema.js';
import { dropletFiles, renderUserData, type AppConnections, type DropletFile, type DropletInput } from '../../templates/droplet.js';
import { dropletInputFor } from '../../templates/droplet-input.js';

/** Connection strings shaped like DigitalOcean's (PgBouncer pool port 25061, Valkey over TLS). */
export const EXAMPLE_CONNECTIONS: AppConnections = {
  databaseUrl: 'postgresql://app:example-password@private-db.example.internal:25061/app-pool?sslmode=require',
  databaseDirectUrl: 'postgresql://app:example-password@private-db.example.internal:25060/app?sslmode=require',
  databaseReplicaUrls: 'postgresql://app:example-password@private-replica-1.example.internal:25060/app?sslmode=require',
  redisUrl: 'rediss://default:example-password@private-cache.example.internal:25061',
  databaseAdminUrl: 'postgresql://doadmin:example-admin-password@private-db.example.internal:25060/app?sslmode=require',
};

/** The environments shipped in config/. */
export const ENVIRONMENTS = environmentNames();

/** The droplet input of an environment, from its config and capacity plan. */
export function dropletInput(environment: string, app?: AppConfig): DropletInput {
  const input = dropletInputFor(loadEnvironment(environment));
  return app ? { ...input, app } : input;
}

/** A git app in place of the demo, to cover the other `app.source`. */
export const GIT_APP: Extract<AppConfig, { source: 'git' }> = {
  source: 'git',
  gitUrl: 'https://github.com/example/shop.git',
  // Production pins a commit (config/rules.ts).
  gitRef: '3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39',
  wsgiModule: 'shop.wsgi:application',
  requirementsFile: 'requirements/prod.lock',
  releaseCommand: 'python -m django migrate --noinput',
  env: { DJANGO_SETTINGS_MODULE: 'shop.settings.production' },
};

/** A rendered environment: its files by base name, and its user data. */
export interface Rendered {
  readonly environment: string;
  readonly files: readonly DropletFile[];
  /** Content by the file's base name (`nginx.conf`, `app.conf`, `app.service`, `app-install`, ...). */
  readonly byName: Readonly<Record<string, string>>;
  readonly userData: string;
}

/** Render an environment's droplet files and user data. */
export function rendered(environment: string, app?: AppConfig, connections = EXAMPLE_CONNECTIONS): Rendered {
  const input = dropletInput(environment, app);
  const files = dropletFiles(input, connections);
  const byName = Object.fromEntries(files.map((f) => [path.basename(f.path), f.content]));
  return { environment, files, byName, userData: renderUserData(input, connections) };
}

/** The snapshot file name of a rendered file: its base name, with `.sh` for a script without extension. */
export function snapshotName(name: string, content: string): string {
  if (name.includes('.')) return name;
  if (content.startsWith('#!/bin/sh')) return `${name}.sh`;
  if (content.startsWith('#!/usr/bin/python3')) return `${name}.py`;
  return name;
}

/** Every shipped environment rendered, plus production with a git app (`production-git`). */
export function allRendered(): Rendered[] {
  return [...ENVIRONMENTS.map((env) => rendered(env)), { ...rendered('production', GIT_APP), environment: 'production-git' }];
}
