// Entry of dist/jose.js: the JWT library as its own bundle, required only when a viewer presents
// a token, so public-channel admissions never parse it (see loadJose in token.ts).
export { decodeProtectedHeader, errors, importSPKI, jwtVerify, SignJWT, UnsecuredJWT } from 'jose';
