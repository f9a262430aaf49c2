"""Outside formats to the domain and back: FHIR birth notifications in, FHIR results out."""
