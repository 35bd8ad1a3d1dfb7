// Placeholder until the receiver is implemented; replaced by its real handler.
export const handler = async (): Promise<never> => {
  throw new Error('receiver not implemented yet');
};
