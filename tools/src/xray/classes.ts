/** The study's four classes, in the order the data set's folders sort. */
export const XRAY_CLASSES = ['covid19', 'normal', 'pneumonia', 'tuberculosis'] as const;
export type XrayClass = (typeof XRAY_CLASSES)[number];

/** Images per class in the study's data set (Kaggle "Chest X-Ray (Pneumonia, Covid-19, Tuberculosis)"). */
export const STUDY_COUNTS: Readonly<Record<XrayClass, number>> = {
  covid19: 558,
  normal: 1530,
  pneumonia: 1257,
  tuberculosis: 586,
};

/** Default demo counts: the study's proportions at half scale (1966 images). */
export const DEFAULT_PER_CLASS: Readonly<Record<XrayClass, number>> = {
  covid19: 279,
  normal: 765,
  pneumonia: 629,
  tuberculosis: 293,
};

export function isXrayClass(name: string): name is XrayClass {
  return (XRAY_CLASSES as readonly string[]).includes(name);
}
