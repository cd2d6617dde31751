/**
 * twilio-run's own project folders, which this project's build does not read, and where their files go here.
 * The build refuses a project holding one (src/pipeline/functions.ts); the build stamp watches them, so adding
 * one after a build makes that build stale and the next deploy's rebuild says so.
 */
export const TWILIO_RUN_FOLDERS: Readonly<Record<string, string>> = { functions: 'src/functions/', static: 'assets/' };
