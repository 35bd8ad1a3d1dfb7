/**
 * Whether a secret still holds the value the stack created it with. The stack lets Secrets Manager generate that value
 * rather than writing a recognisable text: changing how a secret's value is generated in the template makes
 * CloudFormation overwrite whatever an operator has put in since, so the generation stays as it always was and the
 * placeholder is recognised by its shape instead. ElevenLabs issues API keys (`sk_…`, or 32 hex digits for older keys)
 * and webhook secrets (`wsec_…`) made of letters, digits and `_`; a generated value is 32 characters and, but for a
 * chance below 1 in 200,000, has punctuation among them.
 */
import { GENERATED_SECRET } from './contract.js';

const CREDENTIAL_CHARACTERS = /^[A-Za-z0-9_-]+$/;

/** True for an empty value and for the stack's generated placeholder; false for anything shaped like a credential. */
export function isUnsetSecretValue(value: string): boolean {
  const trimmed = value.trim();
  return trimmed === '' || (trimmed.length === GENERATED_SECRET.length && !CREDENTIAL_CHARACTERS.test(trimmed));
}
