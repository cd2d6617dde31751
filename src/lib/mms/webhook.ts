/**
 * An inbound MMS webhook's media list: NumMedia (0..10) with MediaUrlN / MediaContentTypeN, cross-checked.
 * Inconsistent input is reported as problems (logged by the caller) and the valid part is kept.
 */
export interface InboundMedia {
  index: number;
  url: string;
  contentType?: string;
}

export interface InboundMms {
  messageSid?: string;
  accountSid?: string;
  media: InboundMedia[];
  problems: string[];
}

export const MAX_MEDIA = 10;

export function parseInboundMms(params: Record<string, string>): InboundMms {
  const problems: string[] = [];
  const rawNum = params.NumMedia;
  let declared: number | undefined;
  if (rawNum === undefined) problems.push('parameter "NumMedia" is missing; counting MediaUrlN');
  else if (!/^\d{1,2}$/.test(rawNum) || Number(rawNum) > MAX_MEDIA)
    problems.push(`parameter "NumMedia" is "${rawNum}", not 0..${MAX_MEDIA}; counting MediaUrlN`);
  else declared = Number(rawNum);

  const present = Object.keys(params)
    .map((k) => /^MediaUrl(\d+)$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const media: InboundMedia[] = [];
  const limit = declared ?? MAX_MEDIA;
  for (const index of present) {
    if (index >= limit) {
      problems.push(`parameter "MediaUrl${index}" is beyond NumMedia ${declared ?? MAX_MEDIA}; ignored`);
      continue;
    }
    const url = params[`MediaUrl${index}`];
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      problems.push(`parameter "MediaUrl${index}" is not a URL; ignored`);
      continue;
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      problems.push(`parameter "MediaUrl${index}" is not an http(s) URL; ignored`);
      continue;
    }
    const contentType = params[`MediaContentType${index}`];
    if (!contentType) problems.push(`parameter "MediaContentType${index}" is missing`);
    media.push({ index, url, contentType });
  }
  if (declared !== undefined) {
    for (let i = 0; i < declared; i += 1) {
      if (!present.includes(i)) problems.push(`NumMedia is ${declared} but parameter "MediaUrl${i}" is missing`);
    }
  }
  if (!params.MessageSid) problems.push('parameter "MessageSid" is missing');
  return { messageSid: params.MessageSid, accountSid: params.AccountSid, media, problems };
}
