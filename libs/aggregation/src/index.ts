// Public API of @fedxray/aggregation.
export {};
