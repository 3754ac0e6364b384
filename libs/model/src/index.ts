// Public API of @fedxray/model.
export {};
