// Public API of @fedxray/tools.
export { renderXray } from './xray/render';
export { generateDemoData, ensureDemoData, imageSeed, imageName, GENERATOR_VERSION, MARKER_FILE, DEMO_FOLDER } from './xray/generate';
export type { DemoDataOptions, DemoDataResult } from './xray/generate';
export { XRAY_CLASSES, STUDY_COUNTS, DEFAULT_PER_CLASS } from './xray/classes';
export type { XrayClass } from './xray/classes';
export { DemoDataError } from './xray/errors';
export { renderContactSheet, writeContactSheet } from './xray/contact-sheet';
export type { ContactSheetOptions } from './xray/contact-sheet';
