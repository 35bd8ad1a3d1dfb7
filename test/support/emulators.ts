/** The emulators live in bin/local/emulators.ts (the local pipeline starts them too); tests import them from here. */
export {
  CreateTableCommand,
  emulatorCredentials,
  emulatorRegion,
  startDynamoDbEmulator,
  startSqsS3Emulator,
  type DynamoDbEmulator,
  type SqsS3Emulator,
} from '../../bin/local/emulators.js';
