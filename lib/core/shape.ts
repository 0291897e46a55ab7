/** Array shapes shared by every layer. */

/** a 3-D volume shape or per-axis value (e.g. spacing in mm), in array-axis order */
export type Shape3 = [number, number, number];
