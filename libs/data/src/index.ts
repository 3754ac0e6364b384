// Public API of @fedxray/data.
export {};
