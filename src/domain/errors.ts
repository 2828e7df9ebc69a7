// Errors with stable codes. Only UserFacingError text reaches chat verbatim;
// anything else becomes "internal error, ref X" there and a full log line here.
export type ErrorCode = 'CONFIG_INVALID' | 'CHAT_NOT_IN_CHANNEL' | 'AGENT_IMAGE_MISSING' | 'INTERNAL';

export class UserFacingError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UserFacingError';
  }
}
