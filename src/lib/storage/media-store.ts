import * as path from 'node:path';
import { booleanSetting, isLocalRuntime, ServiceEnv, SettingsError } from '../settings';
import { S3Settings, s3SettingsFrom, S3Store } from './s3-store';
import { ConditionalTextStore, LocalFolderStore, ObjectStore } from './store';

/** The environment of whatever keeps inbound media: the webhook, and the sync command. */
export type MediaStoreEnv = Pick<
  ServiceEnv,
  | 'DOMAIN_NAME'
  | 'MEDIA_STORE_URL'
  | 'MEDIA_STORE_ENDPOINT'
  | 'MEDIA_STORE_REGION'
  | 'MEDIA_STORE_ACCESS_KEY_ID'
  | 'MEDIA_STORE_SECRET_ACCESS_KEY'
  | 'MEDIA_STORE_MESSAGE_FIELDS'
  | 'MEDIA_DELETE_AFTER_STORE'
>;

/** Where the local runtime keeps media when MEDIA_STORE_URL is unset (relative to the project root; gitignored). */
export const LOCAL_MEDIA_FOLDER = '.media-store';

/** The message fields that may go in a message record: personal data, so only when configured. */
export const MESSAGE_FIELDS = ['From', 'To', 'Body'] as const;
export type MessageField = (typeof MESSAGE_FIELDS)[number];

export type MediaStoreLocation = { kind: 's3'; s3: S3Settings } | { kind: 'folder'; folder: string };

export interface MediaStoreSettings {
  location: MediaStoreLocation;
  /** the message's parameters copied into its record */
  messageFields: MessageField[];
  deleteAfterStore: boolean;
}

/** MEDIA_STORE_MESSAGE_FIELDS: a comma list of From, To, Body (any case); empty or "none" for none. */
export function messageFieldsFrom(raw: string | undefined): MessageField[] {
  const text = raw?.trim() ?? '';
  if (text === '' || text.toLowerCase() === 'none') return [];
  const fields: MessageField[] = [];
  for (const entry of text.split(',').map((f) => f.trim())) {
    const field = MESSAGE_FIELDS.find((f) => f.toLowerCase() === entry.toLowerCase());
    if (!field) {
      throw new SettingsError(
        'MEDIA_STORE_MESSAGE_FIELDS',
        `MEDIA_STORE_MESSAGE_FIELDS: "${entry.slice(0, 40)}" is not one of ${MESSAGE_FIELDS.join(', ')} (or none)`,
      );
    }
    if (!fields.includes(field)) fields.push(field);
  }
  return fields;
}

/** Is this MEDIA_STORE_URL a folder store (which a deploy refuses)? */
export function isFolderStoreUrl(url: string | undefined): boolean {
  return Boolean(url?.trim().startsWith('folder:'));
}

/**
 * The media store the environment names, or undefined when there is none. MEDIA_STORE_URL is `s3://BUCKET[/PREFIX]`,
 * `folder:PATH` (relative to the project root), or `none`. Unset, the local runtime keeps media in ./.media-store, and a
 * deployed Function keeps none (a Function's disk does not outlast it, so a deploy refuses a folder store: see
 * src/deploy/preflight.ts). Throws a SettingsError naming the variable at fault; no message holds a secret.
 */
export function mediaStoreSettingsFrom(env: MediaStoreEnv): MediaStoreSettings | undefined {
  const url = env.MEDIA_STORE_URL?.trim();
  const messageFields = messageFieldsFrom(env.MEDIA_STORE_MESSAGE_FIELDS);
  const deleteAfterStore = booleanSetting('MEDIA_DELETE_AFTER_STORE', env.MEDIA_DELETE_AFTER_STORE, false);
  let location: MediaStoreLocation;
  if (url === 'none') {
    if (deleteAfterStore)
      throw new SettingsError(
        'MEDIA_DELETE_AFTER_STORE',
        'MEDIA_DELETE_AFTER_STORE is true but MEDIA_STORE_URL is none: media would be deleted without a copy',
      );
    return undefined;
  }
  if (!url) {
    if (!isLocalRuntime(env)) {
      if (deleteAfterStore)
        throw new SettingsError(
          'MEDIA_DELETE_AFTER_STORE',
          'MEDIA_DELETE_AFTER_STORE is true but MEDIA_STORE_URL is not set: media would be deleted without a copy',
        );
      return undefined;
    }
    location = { kind: 'folder', folder: path.resolve(LOCAL_MEDIA_FOLDER) };
  } else if (url.startsWith('folder:')) {
    const folder = url.slice('folder:'.length).trim();
    if (!folder)
      throw new SettingsError('MEDIA_STORE_URL', 'MEDIA_STORE_URL: "folder:" needs a path, e.g. folder:.media-store');
    location = { kind: 'folder', folder: path.resolve(folder) };
  } else if (url.startsWith('s3://')) {
    location = {
      kind: 's3',
      s3: s3SettingsFrom({
        url,
        endpoint: env.MEDIA_STORE_ENDPOINT,
        region: env.MEDIA_STORE_REGION,
        accessKeyId: env.MEDIA_STORE_ACCESS_KEY_ID,
        secretAccessKey: env.MEDIA_STORE_SECRET_ACCESS_KEY,
        names: {
          url: 'MEDIA_STORE_URL',
          endpoint: 'MEDIA_STORE_ENDPOINT',
          region: 'MEDIA_STORE_REGION',
          accessKeyId: 'MEDIA_STORE_ACCESS_KEY_ID',
          secretAccessKey: 'MEDIA_STORE_SECRET_ACCESS_KEY',
        },
      }),
    };
  } else {
    throw new SettingsError(
      'MEDIA_STORE_URL',
      `MEDIA_STORE_URL: "${url.slice(0, 200)}" is neither s3://BUCKET[/PREFIX] nor folder:PATH`,
    );
  }
  return { location, messageFields, deleteAfterStore };
}

/** A media store: objects, and the message records that several writers complete at once. */
export type MediaStore = ObjectStore & ConditionalTextStore;

export function openMediaStore(location: MediaStoreLocation): MediaStore {
  return location.kind === 's3' ? new S3Store(location.s3) : new LocalFolderStore(location.folder);
}
