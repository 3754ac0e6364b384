// Public API of @fedxray/coordinator.
export {};
