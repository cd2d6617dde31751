import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkFlow, FlowCheckError, FlowDefinition, FlowTargets } from '../lib/flows/definition';
import { AssetScan, isNotMedia } from './asset-scan';
import type { FunctionEntry } from './functions';

/** Where the project keeps its Studio flows, one definition per file: src/flows/NAME.json. */
export const FLOWS_DIR = path.join('src', 'flows');
const FLOW_FILE = /^[A-Za-z0-9][A-Za-z0-9_-]*\.json$/;

export interface FlowSource {
  /** NAME of src/flows/NAME.json */
  name: string;
  file: string;
  /** the file's name as messages show it, e.g. ivr.json */
  shown: string;
}

/** The flow files of a folder, sorted by name; a file that cannot be a flow name is refused, not skipped. */
export function listFlows(dir: string): FlowSource[] {
  if (!fs.existsSync(dir)) return [];
  const out: FlowSource[] = [];
  const bad: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile()) {
      bad.push(`${entry.name}: src/flows holds flow files only (NAME.json), not folders or links`);
      continue;
    }
    if (!FLOW_FILE.test(entry.name)) {
      bad.push(
        `${entry.name}: a flow file is NAME.json, NAME of letters, digits, "-" and "_" (it names the flow for flows:deploy)`,
      );
      continue;
    }
    out.push({ name: entry.name.replace(/\.json$/, ''), file: path.join(dir, entry.name), shown: entry.name });
  }
  if (bad.length > 0) throw new FlowCheckError(bad);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The route a built Function answers at: mms/inbound.protected.js -> /mms/inbound, as twilio-run deploys it. */
export function functionRoute(output: string): string {
  return `/${output.replace(/(\.(protected|private))?\.js$/, '')}`;
}

/** What a build can point a flow at: its Functions by route, its servable media by logical name. */
export function buildTargets(functions: FunctionEntry[], scan: AssetScan, notMedia: readonly string[]): FlowTargets {
  const routes = new Set(functions.map((f) => functionRoute(f.output)));
  const media = new Map(scan.files.map((f) => [f.name, f]));
  return {
    hasFunction: (route) => routes.has(route),
    mediaProblem: (name) => {
      const file = media.get(name);
      if (!file) return 'no such file under assets/ (names are paths under assets/ without visibility marker)';
      if (file.visibility === 'private' && isNotMedia(notMedia, name))
        return 'declared "notMedia" in media.config.json, so it has no URL';
      return undefined;
    },
  };
}

export interface CheckedFlow extends FlowSource {
  definition: FlowDefinition;
}

/** Reads and checks every given flow; any problem in any of them fails with all problems listed. */
export function checkFlowSources(sources: FlowSource[], targets: FlowTargets): CheckedFlow[] {
  const problems: string[] = [];
  const checked: CheckedFlow[] = [];
  for (const source of sources) {
    const result = checkFlow(source.shown, fs.readFileSync(source.file, 'utf8'), targets);
    problems.push(...result.problems);
    if (result.definition) checked.push({ ...source, definition: result.definition });
  }
  if (problems.length > 0) throw new FlowCheckError(problems);
  return checked;
}
