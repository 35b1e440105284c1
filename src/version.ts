/** The package version, sent as the user agent and written into fixtures. Kept in step with package.json. */
export const VERSION = '0.1.0';
