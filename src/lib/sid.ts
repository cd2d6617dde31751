/**
 * The one check of the Twilio SIDs the project reads from a request, a record or a listing: the two-letter prefix
 * of the resource, then 32 hex digits.
 */
export const SID = {
  AC: /^AC[0-9a-fA-F]{32}$/,
  CA: /^CA[0-9a-fA-F]{32}$/,
  RE: /^RE[0-9a-fA-F]{32}$/,
  MM: /^MM[0-9a-fA-F]{32}$/,
  ME: /^ME[0-9a-fA-F]{32}$/,
};
