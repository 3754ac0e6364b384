// Public API of @fedxray/simulation.
export {};
