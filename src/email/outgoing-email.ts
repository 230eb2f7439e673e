// What a use case hands the email module: one rendered message to one address.

export interface OutgoingEmail {
  readonly to: string;
  readonly subject: string;
  /** The plain-text part, for clients that show no HTML (and for tests that read links). */
  readonly text: string;
  readonly html: string;
}
