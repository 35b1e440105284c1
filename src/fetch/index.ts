/**
 * `tokenwire/fetch`: tokenwire's engine behind a WHATWG `fetch`, for the SDKs people
 * already use (`new OpenAI({ fetch: createFetch() })`).
 */
export { createFetch, type FetchOptions, type TokenwireFetch } from './create-fetch.js';
