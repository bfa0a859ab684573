/**
 * Words shown to people, in one place.
 */

export const T = {
  setupIntro: 'Choose the admin password for this page. It protects who may pair computers and change keys.',
  setupToken:
    'arozdfs printed this one-time token in the window where it was started. It proves you run this computer.',
  forgot: (file) =>
    `Forgot it? Stop arozdfs, delete the file ${file ?? 'ADDC/web-admin.json in its home folder'} and start it again: it prints a new setup token.`,
  hostLead:
    'Computers share files only after they are paired: each one is given the other one’s pairing string.',
  fingerprint:
    'The fingerprint is a short summary of this computer’s key. People read it aloud or compare it by eye, to be sure they pair with the right computer.',
  pairing:
    'A pairing string is this computer’s ID card. Copy it and paste it on the other computer’s Host setup page.',
  pem: 'The same key in a standard text format, for tools that want it. It is safe to share.',
  paste: 'Open Host setup on the other computer, copy its pairing string, and paste it here.',
  compare:
    'Compare these characters with the fingerprint shown on the other computer’s own screen (its Host setup page). If they differ, do not continue.',
  same: 'This computer is already trusted, with this same key. Nothing to do.',
  otherKey:
    'Warning: this computer already trusts a DIFFERENT key for this computer ID. Either the other computer made a new key pair, or someone is pretending to be it. Continue only if you know its key was changed.',
  paired:
    'Pairing has two directions: each computer must trust the other. This list shows how far each one got.',
  keysLead:
    'Keys are how computers recognise each other. You do not need to understand them: this page makes new ones and decides which computers to trust.',
  ownKeys:
    'A key pair is how this computer proves who it is. Only the active one is used; the others are spares.',
  activateWarning: 'Every paired computer will have to pair with this computer again.',
  activated:
    'The new key pair is active. Go to Host setup, copy the new pairing string and pair again with every other computer.',
  generated: 'A new key pair was made. It is not used until you make it active.',
  remoteKeys:
    'The keys of the other computers this one trusts. Removing one stops it talking to this computer at once.',
  clusterLead: 'The computers this one knows about. This page updates itself when something changes.',
  seen: 'Computers running arozdfs that announce themselves on this network. Seeing one does not mean trusting it.',
  discoveryOff: 'Discovery is off: this computer does not look for others on the network.',
  upload:
    'Each file is cut into pieces, and each piece is stored on several computers of the cluster. A folder keeps its inside folders; everything goes into the folder shown below.',
  redundancy:
    'Copies keep whole pieces on several computers. Erasure coding K+M stores K data and M extra parts on K+M computers: it survives losing M of them and takes less room.',
  encrypt:
    '(sealed: only this computer and the computers it trusts now can read the files; others only store them)',
  copies: 'How many computers keep each piece. 2 means the file survives losing one.',
  shift: 'How far along the list of computers the next copy goes. Leave it at 1 if unsure.',
  health: 'Health tells whether every piece of a file still has its copies on the other computers.',
  jobs: 'Uploads and downloads run in the background. You can leave this page; they go on.',
  untrustedIndex: 'Warning: its index is not signed by a computer this one trusts.',
  adminPassword:
    'The password of this page. Changing it logs out every other browser that is logged in here.',
  waiting: (name) =>
    `Trusted. ${name} shows here as “Paired both ways” as soon as it answers: make sure arozdfs runs there and that this computer’s pairing string was pasted on it. If the two cannot find each other on the network, give its address below.`,
  peerAddress:
    'Its cluster address as host:port (the port arozdfs listens on there, 7420 unless changed). Kept in this computer’s settings and tried at once. Leave empty to remove it.',
  seenHint:
    'Computers running arozdfs that announce themselves here. Compare the short fingerprint with the one on their own screen before you paste their pairing string.',
};
