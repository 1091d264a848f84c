/** The annotation `qpipe restore` puts on jobs it brings back, so the pipeline does not run (and charge) them again. */
export const RESTORED_ANNOTATION = 'qpipe.io/restored-from';
