// Placeholder until the poller is implemented; replaced by its real handler.
export const handler = async (): Promise<never> => {
  throw new Error('poller not implemented yet');
};
