// Errors with stable codes. Only UserFacingError text reaches chat verbatim;
// anything else becomes "internal error, ref X" there and a full log line here.
/** ConfigError (config/env.ts) carries CONFIG_INVALID; user-facing errors carry these. */
export type ErrorCode = 'CHAT_NOT_IN_CHANNEL';

export class UserFacingError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UserFacingError';
  }
}
