/** A catalogue's shape with every leaf a string: what each language must fill in. */
export type DeepStrings<T> = { [K in keyof T]: T[K] extends string ? string : DeepStrings<T[K]> };
