// Public API of @fedxray/hospital.
export {};
