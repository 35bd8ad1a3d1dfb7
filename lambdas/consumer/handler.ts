// Placeholder until the consumer is implemented; replaced by its real handler.
export const handler = async (): Promise<never> => {
  throw new Error('consumer not implemented yet');
};
