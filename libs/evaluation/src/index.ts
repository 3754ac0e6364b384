// Public API of @fedxray/evaluation.
export {};
