/** Module resolution hooks of import-trace.mjs (they run on the loader thread). */
let port;
let match = '';

export function initialize(data) {
  port = data.port;
  match = data.match;
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (match && result.url.includes(match)) port.postMessage(result.url);
  return result;
}
