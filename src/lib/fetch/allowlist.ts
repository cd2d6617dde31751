import { SettingsError } from '../settings';

/**
 * Hosts the media fetcher may contact, as `host[:port]` entries; `*.example.com` matches subdomains. An entry
 * without a port allows only the scheme's default port. Checked before every connection, redirects included.
 */
export const DEFAULT_MEDIA_HOSTS = ['api.twilio.com'];
/** Where Twilio's media URLs redirect to (short-lived URLs on Twilio's media storage). */
export const DEFAULT_REDIRECT_HOSTS = [
  'api.twilio.com',
  'media.twiliocdn.com',
  '*.twiliocdn.com',
  's3-external-1.amazonaws.com',
  '*.s3.amazonaws.com',
];

export function parseHostList(value: string | undefined, variable = 'MEDIA_ALLOWED_HOSTS'): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const hosts = value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const host of hosts) {
    if (!/^(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/.test(host) && !/^\[[0-9a-f:]+\](:\d{1,5})?$/.test(host)) {
      throw new SettingsError(variable, `${variable}: "${host}" is not a host[:port] entry`);
    }
  }
  return hosts;
}

export function hostAllowed(url: URL, allowed: string[]): boolean {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const host = url.hostname.toLowerCase();
  return allowed.some((entry) => {
    const m = /^(.*?)(?::(\d+))?$/.exec(entry)!;
    const [, pattern, entryPort] = m;
    if ((entryPort ?? (url.protocol === 'https:' ? '443' : '80')) !== port) return false;
    if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
    return host === pattern;
  });
}
