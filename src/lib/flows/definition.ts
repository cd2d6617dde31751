import { parseJsonFile } from '../json';

/**
 * Studio flows kept as code: `src/flows/NAME.json` is a flow definition as Studio exports it (`description`,
 * `states`, `initial_state`, `flags`), with placeholders for what only a deploy knows. A placeholder is
 * `${function:/path}` (a Function of this project by its route) or `${media:logical/name.ext}` (a media file by
 * its logical name). `${` never starts anything in Studio's Liquid (`{{widgets.x.parsed.url}}`, `{% if %}`), so
 * Liquid passes through untouched and a placeholder is never mistaken for Liquid, nor Liquid for a placeholder.
 *
 * Where placeholders live, one rule for pull, check and deploy: in any string of the definition (a widget's
 * properties, a Split's condition value in its transitions, the description). flows:pull turns this service's URLs
 * back into placeholders wherever Studio holds them, so the check and the deploy must look everywhere too, or a
 * pulled flow would send a literal `${media:...}` to Studio on the next deploy.
 */
export interface FlowTransition {
  event: string;
  next?: string;
  [key: string]: unknown;
}

export interface FlowState {
  name: string;
  type: string;
  transitions: FlowTransition[];
  properties: Record<string, unknown>;
  [key: string]: unknown;
}

export interface FlowDefinition {
  description?: string;
  states: FlowState[];
  initial_state: string;
  flags?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A placeholder as written, found in a string of the definition. */
export interface Placeholder {
  kind: string;
  value: string;
  text: string;
}

const PLACEHOLDER = /\$\{([a-z][a-z-]*):([^}]*)\}/g;
export const PLACEHOLDER_KINDS = ['function', 'media'] as const;

export function placeholdersIn(text: string): Placeholder[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => ({ kind: m[1], value: m[2], text: m[0] }));
}

export const functionPlaceholder = (route: string) => `\${function:${route}}`;
export const mediaPlaceholder = (name: string) => `\${media:${name}}`;

/** The SIDs a run-function widget carries, filled in by flows:deploy when its url is a Function placeholder. */
export const RUN_FUNCTION_SIDS = ['service_sid', 'environment_sid', 'function_sid'] as const;

/**
 * Every widget type Studio knows, with the transition events each one has. The types are those of Twilio's widget
 * library (https://www.twilio.com/docs/studio/widget-library: Trigger, Split Based On, Set Variables, Say/Play,
 * Gather Input On Call, Connect Call To, Make Outgoing Call, Record Voicemail, Call Recording, Enqueue Call, Capture
 * Payments, Fork Stream, Connect Virtual Agent, Send Message, Send & Wait For Reply, Run Function, Make HTTP Request,
 * Run Subflow, TwiML Redirect, Send to Flex), as exports spell them; the events are the "Transitions" of each
 * widget's page (e.g. https://www.twilio.com/docs/studio/widget-library/connect-virtual-agent: Completed, Live Agent
 * Handoff, Hangup, Failed), in the names exports use. Checked against 27 flows exported by others (read, not kept)
 * and RJPearson94/twilio-sdk-go's studio/widgets. Studio refuses a type or an event it does not know, so the build
 * names them first; a widget Twilio adds later is added here.
 */
export const STUDIO_WIDGETS: Readonly<Record<string, readonly string[]>> = {
  trigger: ['incomingMessage', 'incomingCall', 'incomingConversationMessage', 'incomingRequest', 'incomingParent'],
  'split-based-on': ['noMatch', 'match'],
  'set-variables': ['next'],
  'say-play': ['audioComplete'],
  'gather-input-on-call': ['keypress', 'speech', 'timeout'],
  'connect-call-to': ['callCompleted', 'hangup'],
  'make-outgoing-call-v2': ['answered', 'busy', 'noAnswer', 'failed'],
  'record-voicemail': ['recordingComplete', 'noAudio', 'hangup'],
  'record-call': ['success', 'failed'],
  'enqueue-call': ['callComplete', 'failedToEnqueue', 'callFailure'],
  'capture-payments': ['success', 'maxFailedAttempts', 'providerError', 'payInterrupted', 'hangup', 'validationError'],
  'fork-stream': ['next'],
  'connect-virtual-agent': ['return', 'hangup'],
  'connect-virtual-agent-v2': ['completed', 'live-agent-handoff', 'hangup', 'failed'],
  'send-message': ['sent', 'failed'],
  'send-and-wait-for-reply': ['incomingMessage', 'timeout', 'deliveryFailure'],
  'run-function': ['success', 'fail'],
  'make-http-request': ['success', 'failed'],
  'run-subflow': ['completed', 'failed'],
  'add-twiml-redirect': ['return', 'timeout', 'fail'],
  'send-to-flex': ['callComplete', 'failedToEnqueue', 'callFailure'],
  // Autopilot is retired, but flows that still hold the widget exist
  'send-to-auto-pilot': ['sessionEnded', 'failure', 'timeout'],
};

/**
 * Properties each widget type cannot work without, from Twilio's widget library pages ("Required configuration
 * for ..."): Run Function needs only the Function URL (or the Function's SIDs: exports of Functions picked from the
 * dropdown carry `function_sid` with an empty `url`); Say/Play one of say, play or digits; Make HTTP Request the
 * method, URL and content type; Split Based On the variable to test; Send Message and Send & Wait For Reply a
 * message body, unless they send a Content Template (`message_type: content_template` with a `content_sid`, the
 * only way to open a WhatsApp conversation outside the 24-hour window); Set Variables its variables. Trigger and
 * Gather Input On Call have no required configuration (Studio fills the trigger itself), so only their shape is
 * checked. An array entry is "one of these".
 */
export const REQUIRED_PROPERTIES: Record<string, (string | string[])[]> = {
  trigger: [],
  'run-function': [['url', 'function_sid']],
  'say-play': [['say', 'play', 'digits']],
  'make-http-request': ['method', 'url', 'content_type'],
  'split-based-on': ['input'],
  'send-message': ['body'],
  'send-and-wait-for-reply': ['body'],
  'gather-input-on-call': [],
  'set-variables': ['variables'],
};

/** What a message widget must carry: a body, or for a Content Template its SID instead. */
function requiredOf(state: FlowState): (string | string[])[] {
  const needs = REQUIRED_PROPERTIES[state.type] ?? [];
  const isMessage = state.type === 'send-message' || state.type === 'send-and-wait-for-reply';
  return isMessage && state.properties.message_type === 'content_template' ? ['content_sid'] : needs;
}

/** What the definition may refer to: the Functions (by route) and media (by logical name) of a build or a deploy. */
export interface FlowTargets {
  hasFunction(route: string): boolean;
  /** undefined when the name is servable media, else why not (unknown, or a private file declared notMedia) */
  mediaProblem(name: string): string | undefined;
}

export class FlowCheckError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in src/flows:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const filled = (v: unknown) =>
  (typeof v === 'string' && v.trim() !== '') || (Array.isArray(v) && v.length > 0) || typeof v === 'number';

/** Every string in a JSON value, with where it is (for messages), depth first. */
function* stringsOf(value: unknown, where: string): Generator<[string, string]> {
  if (typeof value === 'string') yield [value, where];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* stringsOf(v, `${where}[${i}]`);
  else if (isObject(value))
    for (const [k, v] of Object.entries(value)) yield* stringsOf(v, where ? `${where}.${k}` : k);
}

/**
 * Every string of the definition where a placeholder may live (all of them), each with where it is for messages:
 * `state "NAME" (TYPE): transitions[1].conditions[0].value` inside a checked state, the JSON path elsewhere.
 */
function* placeholderSites(
  definition: Record<string, unknown>,
  byState: Map<unknown, string>,
): Generator<[string, string]> {
  for (const [key, value] of Object.entries(definition)) {
    if (key !== 'states' || !Array.isArray(value)) {
      yield* stringsOf(value, key);
      continue;
    }
    for (const [i, state] of value.entries()) {
      const label = byState.get(state);
      if (!label) {
        yield* stringsOf(state, `states[${i}]`);
        continue;
      }
      for (const [text, where] of stringsOf(state, '')) yield [text, `${label}: ${where}`];
    }
  }
}

/**
 * Parses and checks one flow file, returning the definition and every problem found (each naming the file and the
 * state, transition, Function or media name at fault, as written). The definition is undefined when the file is not
 * a flow at all (invalid JSON, no states array).
 */
export function checkFlow(
  file: string,
  text: string,
  targets: FlowTargets,
): { definition?: FlowDefinition; problems: string[] } {
  const problems: string[] = [];
  const add = (message: string) => problems.push(`${file}: ${message}`);
  let parsed: unknown;
  try {
    parsed = parseJsonFile(text, file, (message) => new Error(message));
  } catch (err) {
    return { problems: [(err as Error).message] };
  }
  if (!isObject(parsed)) return { problems: [`${file}: expected a flow definition object {"states": [...], ...}`] };
  if (!Array.isArray(parsed.states) || parsed.states.length === 0) {
    return { problems: [`${file}: "states" must be a non-empty array of widgets`] };
  }
  // Studio's exports before 2019 (a trigger of type "InitialState", widgets linked by SID, no initial_state): one
  // line, not a problem per widget and transition, since the whole file must be exported again.
  if (parsed.initial_state === undefined && parsed.states.some((s) => isObject(s) && s.type === 'InitialState')) {
    return {
      problems: [
        `${file}: an export from Studio's pre-2019 format (a trigger of type "InitialState", widgets linked by SID), which Studio's API no longer takes: open the flow in Studio and export it again (Export to JSON)`,
      ],
    };
  }
  if (parsed.description !== undefined && typeof parsed.description !== 'string') add('"description" must be a string');
  if (parsed.flags !== undefined && !isObject(parsed.flags)) add('"flags" must be an object');
  else if (parsed.flags !== undefined && typeof parsed.flags.allow_concurrent_calls !== 'boolean') {
    add('"flags" needs "allow_concurrent_calls" (true or false): Studio refuses flags without it');
  }

  const names = new Set<string>();
  const valid: FlowState[] = [];
  for (const [i, raw] of parsed.states.entries()) {
    if (!isObject(raw) || typeof raw.name !== 'string' || raw.name === '') {
      add(`states[${i}] has no "name"`);
      continue;
    }
    const label = `state "${raw.name}"`;
    if (names.has(raw.name)) add(`${label} is defined twice: state names must be unique`);
    names.add(raw.name);
    if (typeof raw.type !== 'string' || raw.type === '') {
      add(`${label} has no "type"`);
      continue;
    }
    if (!Array.isArray(raw.transitions) || !raw.transitions.every((t) => isObject(t) && typeof t.event === 'string')) {
      add(`${label} (${raw.type}): "transitions" must be an array of {"event", "next"}`);
      continue;
    }
    if (!isObject(raw.properties)) {
      add(`${label} (${raw.type}): "properties" must be an object`);
      continue;
    }
    valid.push(raw as FlowState);
  }

  const triggers = valid.filter((s) => s.type === 'trigger');
  if (triggers.length === 0) add('no state of type "trigger": a flow starts at its Trigger widget');
  if (triggers.length > 1) add(`${triggers.length} trigger states (${triggers.map((s) => `"${s.name}"`).join(', ')})`);
  if (typeof parsed.initial_state !== 'string') add('"initial_state" is missing: it must name the trigger state');
  else if (triggers.length === 1 && parsed.initial_state !== triggers[0].name) {
    add(`"initial_state" is "${parsed.initial_state}", not the trigger state "${triggers[0].name}"`);
  }

  for (const state of valid) {
    const label = `state "${state.name}" (${state.type})`;
    const events = STUDIO_WIDGETS[state.type];
    if (!events) {
      add(
        `${label}: unknown widget type "${state.type}": Studio refuses it (widget types: ${Object.keys(STUDIO_WIDGETS).join(', ')})`,
      );
    }
    for (const t of state.transitions) {
      if (events && !events.includes(t.event)) {
        add(`${label}: unknown transition event "${t.event}" (the events of ${state.type}: ${events.join(', ')})`);
      }
      // an empty next ends the branch, as a missing one does (Studio exports both)
      if (t.next !== undefined && t.next !== '' && (typeof t.next !== 'string' || !names.has(t.next))) {
        add(`${label}: transition "${t.event}" goes to "${String(t.next)}", which names no state`);
      }
    }
    for (const need of requiredOf(state)) {
      const oneOf = Array.isArray(need) ? need : [need];
      if (!oneOf.some((p) => filled(state.properties[p]))) {
        add(
          `${label}: needs ${oneOf.length > 1 ? `one of ${oneOf.map((p) => `"${p}"`).join(', ')}` : `"${oneOf[0]}"`}`,
        );
      }
    }
    if (state.type === 'run-function' && typeof state.properties.url === 'string') {
      const url = state.properties.url;
      const inUrl = placeholdersIn(url).filter((p) => p.kind === 'function');
      if (inUrl.length > 0) {
        if (inUrl.length !== 1 || inUrl[0].text !== url) {
          add(`${label}: "url" must be the placeholder alone ("${functionPlaceholder(inUrl[0].value)}"), got "${url}"`);
        }
        const sids = RUN_FUNCTION_SIDS.filter((k) => state.properties[k] !== undefined);
        if (sids.length > 0) {
          add(`${label}: remove ${sids.map((k) => `"${k}"`).join(', ')}: flows:deploy fills them from "url"`);
        }
      }
    }
  }
  const byState = new Map(valid.map((state) => [state, `state "${state.name}" (${state.type})`]));
  for (const [text, where] of placeholderSites(parsed, byState)) {
    for (const p of placeholdersIn(text)) {
      if (p.kind === 'function') {
        if (!/^\/[^\s?#]*$/.test(p.value)) add(`${where}: "${p.text}" needs a route starting with "/"`);
        else if (!targets.hasFunction(p.value)) add(`${where}: no Function "${p.value}" (in "${p.text}")`);
      } else if (p.kind === 'media') {
        const why = targets.mediaProblem(p.value);
        if (why) add(`${where}: media "${p.value}" (in "${p.text}"): ${why}`);
      } else {
        add(
          `${where}: unknown placeholder "${p.text}" (placeholders are ${PLACEHOLDER_KINDS.map((k) => `\${${k}:...}`).join(' and ')})`,
        );
      }
    }
  }
  return { definition: parsed as FlowDefinition, problems };
}

/** What a deploy knows: the service, environment, its base URL, Function SIDs by route and media URLs by name. */
export interface Resolution {
  serviceSid: string;
  environmentSid: string;
  /** https://DOMAIN_NAME */
  baseUrl: string;
  functionSids: ReadonlyMap<string, string>;
  /** the deployed URL of a media file (content-addressed asset, or /media pinned to its version) */
  mediaUrl(name: string): string;
  /** every URL a media file of this name may have had, for pulling canvas edits back: a pattern without flags */
  mediaUrlPatterns: ReadonlyMap<string, string>;
}

/** A copy of a JSON value with every string mapped. */
function mapStrings(v: unknown, map: (text: string) => string): unknown {
  if (typeof v === 'string') return map(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, map));
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStrings(x, map)]));
  return v;
}

/** The definition Studio gets: every placeholder (anywhere) replaced, and each run-function widget given its SIDs. */
export function resolveFlow(definition: FlowDefinition, r: Resolution): FlowDefinition {
  const replace = (text: string): string =>
    text.replace(PLACEHOLDER, (whole, kind: string, value: string) =>
      kind === 'function' ? `${r.baseUrl}${value}` : kind === 'media' ? r.mediaUrl(value) : whole,
    );
  const out = mapStrings(definition, replace) as FlowDefinition;
  out.states = out.states.map((state, i) => {
    const { properties } = state;
    // the SIDs go by the url as written, before it was resolved
    const url = definition.states[i].properties.url;
    const [only] = typeof url === 'string' ? placeholdersIn(url) : [];
    if (state.type === 'run-function' && only?.kind === 'function' && only.text === url) {
      const functionSid = r.functionSids.get(only.value);
      if (!functionSid) throw new Error(`state "${state.name}": no deployed Function "${only.value}"`);
      return {
        ...state,
        properties: {
          service_sid: r.serviceSid,
          environment_sid: r.environmentSid,
          function_sid: functionSid,
          ...properties,
        },
      };
    }
    return { ...state, properties };
  });
  return out;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The inverse of resolveFlow for a definition fetched from Studio: this deploy's Function URLs and media URLs
 * (any version of a name) become placeholders again, and a run-function widget pointing at one of this service's
 * Functions in this environment loses the SIDs flows:deploy fills in. Other services' SIDs and URLs stay as they are.
 */
export function unresolveFlow(definition: FlowDefinition, r: Resolution): FlowDefinition {
  const candidates: [string, string][] = [
    ...[...r.mediaUrlPatterns].map(([name, pattern]): [string, string] => [pattern, mediaPlaceholder(name)]),
    ...[...r.functionSids.keys()].map((route): [string, string] => [
      escapeRegExp(`${r.baseUrl}${route}`),
      functionPlaceholder(route),
    ]),
  ];
  // Longest pattern first, and a match may not run on into a longer path: /media must not eat /media-url.
  candidates.sort((a, b) => b[0].length - a[0].length);
  const rules = candidates.map(([pattern, placeholder]) => ({
    re: new RegExp(`${pattern}(?![A-Za-z0-9_.~%-])`, 'g'),
    placeholder,
  }));
  const replace = (text: string): string => {
    if (!text.includes(r.baseUrl)) return text;
    let out = text;
    for (const { re, placeholder } of rules) out = out.replace(re, () => placeholder);
    return out;
  };
  const out = mapStrings(definition, replace) as FlowDefinition;
  for (const state of out.states) {
    if (state.type !== 'run-function' || !isObject(state.properties)) continue;
    const p = state.properties;
    const [only] = typeof p.url === 'string' ? placeholdersIn(p.url) : [];
    if (
      only?.kind === 'function' &&
      only.text === p.url &&
      p.function_sid === r.functionSids.get(only.value) &&
      p.service_sid === r.serviceSid &&
      p.environment_sid === r.environmentSid
    ) {
      for (const k of RUN_FUNCTION_SIDS) delete p[k];
    }
  }
  return out;
}

/** How a flow file is written (by flows:pull): two-space JSON and a final newline, as prettier leaves it. */
export function formatFlow(definition: FlowDefinition): string {
  return `${JSON.stringify(definition, null, 2)}\n`;
}
