//! A forward-only HDF5 writer: the file grows by appending blocks whose absolute addresses
//! are known when they are encoded, and only the 48-byte superblock at offset 0 is written
//! last. A dataset of any length is therefore produced in memory proportional to one
//! episode (plus a few bytes per episode for the final group index).
//!
//! The subset written (HDF5 file format specification 3.0 names):
//! - superblock version 2 (8-byte offsets and lengths, Jenkins lookup3 checksum);
//! - version-2 object headers holding compact ("new style") groups: Link Info, Group Info
//!   and one hard Link message per member;
//! - attributes (message version 3) of scalar integers, variable-length UTF-8 strings and
//!   arrays of them; string bytes live in one global heap collection per object;
//! - datasets of little-endian f64 / i64 and fixed-width NUL-padded ASCII strings, stored
//!   contiguously, or, with deflate, as one zlib-compressed chunk (layout version 4,
//!   single-chunk index; readers need HDF5 1.10 or newer for that case only).
//!
//! Nothing here reads a clock or depends on the platform: equal inputs give equal bytes.

/// Bytes in the superblock (version 2 with 8-byte offsets).
pub(crate) const SUPERBLOCK_LEN: u64 = 48;
/// The "undefined address" value.
const UNDEF: u64 = u64::MAX;
/// Smallest global heap collection the reference library expects to read.
const GHEAP_MIN: usize = 4096;

/// Bob Jenkins' lookup3 `hashlittle` with initial value 0: the checksum of every
/// version-2 metadata structure.
pub(crate) fn lookup3(data: &[u8]) -> u32 {
    fn rot(x: u32, k: u32) -> u32 {
        x.rotate_left(k)
    }
    let init = 0xdead_beef_u32.wrapping_add(data.len() as u32);
    let (mut a, mut b, mut c) = (init, init, init);
    let word = |s: &[u8], i: usize| -> u32 {
        let mut w = [0u8; 4];
        for (k, slot) in w.iter_mut().enumerate() {
            if let Some(v) = s.get(i + k) {
                *slot = *v;
            }
        }
        u32::from_le_bytes(w)
    };
    let mut rest = data;
    while rest.len() > 12 {
        a = a.wrapping_add(word(rest, 0));
        b = b.wrapping_add(word(rest, 4));
        c = c.wrapping_add(word(rest, 8));
        // mix
        a = a.wrapping_sub(c);
        a ^= rot(c, 4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= rot(a, 6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= rot(b, 8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c);
        a ^= rot(c, 16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= rot(a, 19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= rot(b, 4);
        b = b.wrapping_add(a);
        rest = &rest[12..];
    }
    if rest.is_empty() {
        return c;
    }
    // The last 1..=12 bytes, zero-extended.
    a = a.wrapping_add(word(rest, 0));
    b = b.wrapping_add(word(rest, 4));
    c = c.wrapping_add(word(rest, 8));
    // final
    c ^= b;
    c = c.wrapping_sub(rot(b, 14));
    a ^= c;
    a = a.wrapping_sub(rot(c, 11));
    b ^= a;
    b = b.wrapping_sub(rot(a, 25));
    c ^= b;
    c = c.wrapping_sub(rot(b, 16));
    a ^= c;
    a = a.wrapping_sub(rot(c, 4));
    b ^= a;
    b = b.wrapping_sub(rot(a, 14));
    c ^= b;
    c = c.wrapping_sub(rot(b, 24));
    c
}

/// The superblock for a file of `eof` bytes whose root group header is at `root`.
pub(crate) fn superblock(eof: u64, root: u64) -> [u8; SUPERBLOCK_LEN as usize] {
    let mut s = Vec::with_capacity(SUPERBLOCK_LEN as usize);
    s.extend_from_slice(b"\x89HDF\r\n\x1a\n");
    s.extend_from_slice(&[2, 8, 8, 0]); // version, offset size, length size, flags
    s.extend_from_slice(&0u64.to_le_bytes()); // base address
    s.extend_from_slice(&UNDEF.to_le_bytes()); // no superblock extension
    s.extend_from_slice(&eof.to_le_bytes());
    s.extend_from_slice(&root.to_le_bytes());
    let c = lookup3(&s);
    s.extend_from_slice(&c.to_le_bytes());
    let mut out = [0u8; SUPERBLOCK_LEN as usize];
    out.copy_from_slice(&s);
    out
}

/// Element types of datasets and attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dtype {
    F64,
    F32,
    I64,
    U64,
    /// Unsigned bytes (numpy `uint8`).
    U8,
    /// Fixed-width ASCII, NUL-padded (numpy `S<width>`).
    Ascii(u32),
    /// Variable-length UTF-8 string (what h5py writes for a Python `str`).
    VarUtf8,
}

impl Dtype {
    fn encode(self) -> Vec<u8> {
        let mut v = Vec::with_capacity(20);
        match self {
            Dtype::F64 => {
                // class 1 (floating point), version 1; little-endian, implied-msb mantissa
                // normalisation, sign at bit 63.
                v.extend_from_slice(&[0x11, 0x20, 63, 0]);
                v.extend_from_slice(&8u32.to_le_bytes());
                v.extend_from_slice(&0u16.to_le_bytes()); // bit offset
                v.extend_from_slice(&64u16.to_le_bytes()); // precision
                v.extend_from_slice(&[52, 11, 0, 52]); // exponent at 52 (11 bits), mantissa at 0 (52 bits)
                v.extend_from_slice(&1023u32.to_le_bytes()); // exponent bias
            }
            Dtype::F32 => {
                // The same for IEEE single precision: sign at bit 31, exponent at 23
                // (8 bits), mantissa at 0 (23 bits), bias 127.
                v.extend_from_slice(&[0x11, 0x20, 31, 0]);
                v.extend_from_slice(&4u32.to_le_bytes());
                v.extend_from_slice(&0u16.to_le_bytes());
                v.extend_from_slice(&32u16.to_le_bytes());
                v.extend_from_slice(&[23, 8, 0, 23]);
                v.extend_from_slice(&127u32.to_le_bytes());
            }
            Dtype::I64 | Dtype::U64 => {
                let signed = if self == Dtype::I64 { 0x08 } else { 0 };
                v.extend_from_slice(&[0x10, signed, 0, 0]);
                v.extend_from_slice(&8u32.to_le_bytes());
                v.extend_from_slice(&0u16.to_le_bytes());
                v.extend_from_slice(&64u16.to_le_bytes());
            }
            Dtype::U8 => {
                v.extend_from_slice(&[0x10, 0, 0, 0]);
                v.extend_from_slice(&1u32.to_le_bytes());
                v.extend_from_slice(&0u16.to_le_bytes());
                v.extend_from_slice(&8u16.to_le_bytes());
            }
            Dtype::Ascii(width) => {
                // class 3 (string), NUL-padded, ASCII.
                v.extend_from_slice(&[0x13, 0x01, 0, 0]);
                v.extend_from_slice(&width.to_le_bytes());
            }
            Dtype::VarUtf8 => {
                // class 9 (variable length) of type string, NUL-terminated, UTF-8, over
                // unsigned bytes.
                v.extend_from_slice(&[0x19, 0x01, 0x01, 0]);
                v.extend_from_slice(&16u32.to_le_bytes());
                v.extend_from_slice(&[0x10, 0, 0, 0]);
                v.extend_from_slice(&1u32.to_le_bytes());
                v.extend_from_slice(&0u16.to_le_bytes());
                v.extend_from_slice(&8u16.to_le_bytes());
            }
        }
        v
    }
}

/// A dataspace message: scalar for `None`, else simple with these dimensions.
fn dataspace(shape: Option<&[u64]>) -> Vec<u8> {
    match shape {
        None => vec![2, 0, 0, 0],
        Some(dims) => {
            let mut v = vec![2, dims.len() as u8, 0, 1];
            for d in dims {
                v.extend_from_slice(&d.to_le_bytes());
            }
            v
        }
    }
}

/// Attribute values.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Attr {
    I64(i64),
    U64(u64),
    Str(String),
    StrArray(Vec<String>),
}

// Object header message types.
const MSG_DATASPACE: u8 = 0x01;
const MSG_LINK_INFO: u8 = 0x02;
const MSG_DATATYPE: u8 = 0x03;
const MSG_FILL_VALUE: u8 = 0x05;
const MSG_LINK: u8 = 0x06;
const MSG_LAYOUT: u8 = 0x08;
const MSG_GROUP_INFO: u8 = 0x0a;
const MSG_FILTERS: u8 = 0x0b;
const MSG_ATTRIBUTE: u8 = 0x0c;

/// Errors are limits of this subset of the format, reported instead of writing a bad file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct H5Error(pub String);

fn err<T>(s: impl Into<String>) -> Result<T, H5Error> {
    Err(H5Error(s.into()))
}

/// A version-2 object header.
fn object_header(messages: &[(u8, Vec<u8>)]) -> Result<Vec<u8>, H5Error> {
    let mut body = Vec::new();
    for (kind, data) in messages {
        let Ok(size) = u16::try_from(data.len()) else {
            return err(format!(
                "an object header message of {} bytes exceeds the 65535-byte limit",
                data.len()
            ));
        };
        body.push(*kind);
        body.extend_from_slice(&size.to_le_bytes());
        body.push(0); // message flags
        body.extend_from_slice(data);
    }
    let mut h = Vec::with_capacity(body.len() + 16);
    h.extend_from_slice(b"OHDR");
    h.push(2);
    // Chunk #0 size stored in 1, 2, 4 or 8 bytes (flags bits 0-1).
    let n = body.len() as u64;
    if n <= u64::from(u8::MAX) {
        h.push(0);
        h.push(n as u8);
    } else if n <= u64::from(u16::MAX) {
        h.push(1);
        h.extend_from_slice(&(n as u16).to_le_bytes());
    } else if n <= u64::from(u32::MAX) {
        h.push(2);
        h.extend_from_slice(&(n as u32).to_le_bytes());
    } else {
        h.push(3);
        h.extend_from_slice(&n.to_le_bytes());
    }
    h.extend_from_slice(&body);
    let c = lookup3(&h);
    h.extend_from_slice(&c.to_le_bytes());
    Ok(h)
}

/// A hard link message to the object header at `addr`.
fn link(name: &str, addr: u64) -> Result<Vec<u8>, H5Error> {
    let len = name.len();
    if len == 0 || len > usize::from(u16::MAX) {
        return err(format!("link name '{name}' must be 1..=65535 bytes"));
    }
    let wide = len > usize::from(u8::MAX);
    let utf8 = !name.is_ascii();
    let mut flags = u8::from(wide);
    if utf8 {
        flags |= 0x10;
    }
    let mut v = vec![1, flags];
    if utf8 {
        v.push(1);
    }
    if wide {
        v.extend_from_slice(&(len as u16).to_le_bytes());
    } else {
        v.push(len as u8);
    }
    v.extend_from_slice(name.as_bytes());
    v.extend_from_slice(&addr.to_le_bytes());
    Ok(v)
}

/// An attribute message; `data` is the raw element bytes.
fn attribute(
    name: &str,
    dtype: Dtype,
    shape: Option<&[u64]>,
    data: &[u8],
) -> Result<Vec<u8>, H5Error> {
    let dt = dtype.encode();
    let ds = dataspace(shape);
    let Ok(name_len) = u16::try_from(name.len() + 1) else {
        return err(format!("attribute name '{name}' is too long"));
    };
    let mut v = vec![3, 0];
    v.extend_from_slice(&name_len.to_le_bytes());
    v.extend_from_slice(&(dt.len() as u16).to_le_bytes());
    v.extend_from_slice(&(ds.len() as u16).to_le_bytes());
    v.push(u8::from(!name.is_ascii()));
    v.extend_from_slice(name.as_bytes());
    v.push(0);
    v.extend_from_slice(&dt);
    v.extend_from_slice(&ds);
    v.extend_from_slice(data);
    Ok(v)
}

/// Bytes of a part of the file that starts at a known absolute address.
pub(crate) struct Block {
    base: u64,
    buf: Vec<u8>,
}

impl Block {
    /// An empty block that will be placed at file offset `base` (a multiple of 8).
    pub(crate) fn new(base: u64) -> Self {
        Block {
            base,
            buf: Vec::new(),
        }
    }

    /// The file offset just past this block.
    pub(crate) fn end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Append `bytes` at the next 8-byte boundary; returns their address.
    fn put(&mut self, bytes: &[u8]) -> u64 {
        while !self.end().is_multiple_of(8) {
            self.buf.push(0);
        }
        let at = self.end();
        self.buf.extend_from_slice(bytes);
        at
    }

    /// A global heap collection holding `strings`; returns its address (object `k` of the
    /// collection is `strings[k - 1]`).
    fn global_heap(&mut self, strings: &[&str]) -> u64 {
        let pad8 = |n: usize| n.div_ceil(8) * 8;
        let used: usize = 16 + strings.iter().map(|s| 16 + pad8(s.len())).sum::<usize>();
        // Room for the free-space object too, and at least the minimum collection size.
        let size = (used + 16).max(GHEAP_MIN).div_ceil(8) * 8;
        let mut h = Vec::with_capacity(size);
        h.extend_from_slice(b"GCOL");
        h.extend_from_slice(&[1, 0, 0, 0]);
        h.extend_from_slice(&(size as u64).to_le_bytes());
        for (k, s) in strings.iter().enumerate() {
            h.extend_from_slice(&((k + 1) as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // reference count
            h.extend_from_slice(&[0; 4]);
            h.extend_from_slice(&(s.len() as u64).to_le_bytes());
            h.extend_from_slice(s.as_bytes());
            h.resize(pad8(h.len()), 0);
        }
        // Object 0: the free space, its size counting its own header.
        let free = size - h.len();
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&[0; 4]);
        h.extend_from_slice(&(free as u64).to_le_bytes());
        h.resize(size, 0);
        self.put(&h)
    }

    /// Attribute messages for `attrs`, with their strings in one global heap collection
    /// written into this block.
    fn attributes(&mut self, attrs: &[(&str, Attr)]) -> Result<Vec<(u8, Vec<u8>)>, H5Error> {
        let mut strings: Vec<&str> = Vec::new();
        for (_, a) in attrs {
            match a {
                Attr::Str(s) => strings.push(s),
                Attr::StrArray(v) => strings.extend(v.iter().map(|s| s.as_str())),
                _ => {}
            }
        }
        for s in &strings {
            if u32::try_from(s.len()).is_err() {
                return err("an attribute string longer than 4 GiB");
            }
        }
        let heap = if strings.is_empty() {
            UNDEF
        } else {
            self.global_heap(&strings)
        };
        let mut next = 1u32;
        let mut vlen = |s: &str| -> Vec<u8> {
            let mut e = Vec::with_capacity(16);
            e.extend_from_slice(&(s.len() as u32).to_le_bytes());
            e.extend_from_slice(&heap.to_le_bytes());
            e.extend_from_slice(&next.to_le_bytes());
            next += 1;
            e
        };
        let mut out = Vec::with_capacity(attrs.len());
        for (name, a) in attrs {
            let m = match a {
                Attr::I64(x) => attribute(name, Dtype::I64, None, &x.to_le_bytes())?,
                Attr::U64(x) => attribute(name, Dtype::U64, None, &x.to_le_bytes())?,
                Attr::Str(s) => attribute(name, Dtype::VarUtf8, None, &vlen(s))?,
                Attr::StrArray(v) => {
                    let data: Vec<u8> = v.iter().flat_map(|s| vlen(s)).collect();
                    attribute(name, Dtype::VarUtf8, Some(&[v.len() as u64]), &data)?
                }
            };
            out.push((MSG_ATTRIBUTE, m));
        }
        Ok(out)
    }

    /// A group with hard links to `members` (name, object header address) and `attrs`;
    /// returns the group's object header address.
    pub(crate) fn group(
        &mut self,
        members: &[(String, u64)],
        attrs: &[(&str, Attr)],
    ) -> Result<u64, H5Error> {
        let mut msgs = Vec::with_capacity(members.len() + attrs.len() + 2);
        let mut linfo = vec![0u8, 0];
        linfo.extend_from_slice(&UNDEF.to_le_bytes()); // no fractal heap: links are compact
        linfo.extend_from_slice(&UNDEF.to_le_bytes()); // no name index
        msgs.push((MSG_LINK_INFO, linfo));
        msgs.push((MSG_GROUP_INFO, vec![0, 0]));
        for (name, addr) in members {
            msgs.push((MSG_LINK, link(name, *addr)?));
        }
        msgs.extend(self.attributes(attrs)?);
        Ok(self.put(&object_header(&msgs)?))
    }

    /// A dataset of `dtype` with `shape` and raw little-endian element bytes `raw`;
    /// `deflate` stores it as one zlib-compressed chunk. Returns the object header address.
    pub(crate) fn dataset(
        &mut self,
        dtype: Dtype,
        shape: &[u64],
        raw: &[u8],
        deflate: Option<u8>,
    ) -> Result<u64, H5Error> {
        let elem = match dtype {
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8u64,
            Dtype::F32 => 4,
            Dtype::U8 => 1,
            Dtype::Ascii(w) => u64::from(w),
            Dtype::VarUtf8 => return err("variable-length string datasets are not written"),
        };
        let count = shape.iter().try_fold(1u64, |a, d| a.checked_mul(*d));
        if count.and_then(|c| c.checked_mul(elem)) != Some(raw.len() as u64) {
            return err(format!(
                "dataset of shape {shape:?} needs {elem}-byte elements, got {} bytes",
                raw.len()
            ));
        }
        let chunked = deflate.is_some() && !raw.is_empty();
        let mut msgs = vec![
            (MSG_DATASPACE, dataspace(Some(shape))),
            (MSG_DATATYPE, dtype.encode()),
        ];
        if let (true, Some(level)) = (chunked, deflate) {
            let z = miniz_oxide::deflate::compress_to_vec_zlib(raw, level);
            let addr = self.put(&z);
            // Fill value: incremental allocation, fill written if set, none defined.
            msgs.push((MSG_FILL_VALUE, vec![3, 0x0b]));
            // Chunk dimensions (the whole shape, then the element size), each in the
            // fewest bytes that hold the largest: readers check that it is the fewest.
            let dims: Vec<u64> = shape.iter().copied().chain([elem]).collect();
            let largest = dims.iter().copied().max().unwrap_or(1).max(1);
            let width = ((63 - largest.leading_zeros()) / 8 + 1) as usize;
            let mut layout = vec![4, 2, 0x02, dims.len() as u8, width as u8];
            for d in &dims {
                layout.extend_from_slice(&d.to_le_bytes()[..width]);
            }
            layout.push(1); // single-chunk index
            layout.extend_from_slice(&(z.len() as u64).to_le_bytes());
            layout.extend_from_slice(&0u32.to_le_bytes()); // every filter applied
            layout.extend_from_slice(&addr.to_le_bytes());
            msgs.push((MSG_LAYOUT, layout));
            let mut filters = vec![2, 1];
            filters.extend_from_slice(&1u16.to_le_bytes()); // deflate
            filters.extend_from_slice(&0u16.to_le_bytes()); // mandatory
            filters.extend_from_slice(&1u16.to_le_bytes()); // one parameter
            filters.extend_from_slice(&u32::from(level).to_le_bytes());
            msgs.push((MSG_FILTERS, filters));
        } else {
            let addr = if raw.is_empty() { UNDEF } else { self.put(raw) };
            // Fill value: late allocation, fill written if set, none defined.
            msgs.push((MSG_FILL_VALUE, vec![3, 0x0a]));
            let mut layout = vec![3, 1];
            layout.extend_from_slice(&addr.to_le_bytes());
            layout.extend_from_slice(&(raw.len() as u64).to_le_bytes());
            msgs.push((MSG_LAYOUT, layout));
        }
        Ok(self.put(&object_header(&msgs)?))
    }

    /// Place already compressed chunks (zlib streams) in the file; returns each one's
    /// address and length, for [`framed`](Self::framed) datasets that share them.
    pub(crate) fn chunks(&mut self, zs: &[Vec<u8>]) -> Vec<(u64, u64)> {
        zs.iter().map(|z| (self.put(z), z.len() as u64)).collect()
    }

    /// A dataset of shape `(chunks.len(), frame...)` stored as one deflated chunk per
    /// frame (chunk shape `(1, frame...)`), the chunks being `(address, length)` of zlib
    /// streams already in the file (placed by [`chunks`](Self::chunks), possibly shared
    /// with another dataset), indexed by a fixed array (layout version 4, index type 3;
    /// HDF5 1.10 or newer). `level` is recorded in the filter message. Returns the object
    /// header address.
    pub(crate) fn framed(
        &mut self,
        dtype: Dtype,
        frame: &[u64],
        chunks: &[(u64, u64)],
        level: u8,
    ) -> Result<u64, H5Error> {
        let elem = match dtype {
            Dtype::F32 => 4u64,
            Dtype::U8 => 1,
            _ => return err("framed datasets hold u8 or f32 elements"),
        };
        let n = chunks.len() as u64;
        if n == 0 {
            return err("a framed dataset needs at least one frame");
        }
        let chunk_bytes = frame
            .iter()
            .try_fold(elem, |a, d| a.checked_mul(*d))
            .filter(|b| *b > 0 && *b < u64::from(u32::MAX))
            .ok_or_else(|| H5Error(format!("a frame of shape {frame:?} is too large")))?;
        // Bytes encoding a stored chunk's size: one more than the raw size needs, as the
        // reference library computes it, in case compression makes a chunk larger.
        let size_len = (1 + (u64::from(63 - chunk_bytes.leading_zeros()) + 8) / 8).min(8);
        for (_, len) in chunks {
            if size_len < 8 && *len >= 1u64 << (8 * size_len) {
                return err("a compressed frame is larger than its index entry can record");
            }
        }
        let entry = 8 + size_len + 4;
        // Pages of 2^bits entries: chosen so the whole index is one unpaged data block.
        let bits = (64 - (n - 1).leading_zeros()).max(10) as u8;
        let align = |a: u64| a.div_ceil(8) * 8;
        let dblock_at = align(self.end());
        let dblock_len = 4 + 1 + 1 + 8 + n * entry + 4;
        let header_at = align(dblock_at + dblock_len);
        let mut db = Vec::with_capacity(dblock_len as usize);
        db.extend_from_slice(b"FADB");
        db.extend_from_slice(&[0, 1]); // version, client: filtered chunks
        db.extend_from_slice(&header_at.to_le_bytes());
        for (addr, len) in chunks {
            db.extend_from_slice(&addr.to_le_bytes());
            db.extend_from_slice(&len.to_le_bytes()[..size_len as usize]);
            db.extend_from_slice(&0u32.to_le_bytes()); // every filter applied
        }
        let c = lookup3(&db);
        db.extend_from_slice(&c.to_le_bytes());
        if self.put(&db) != dblock_at {
            return err("fixed array data block misplaced");
        }
        let mut hd = Vec::with_capacity(28);
        hd.extend_from_slice(b"FAHD");
        hd.extend_from_slice(&[0, 1, entry as u8, bits]);
        hd.extend_from_slice(&n.to_le_bytes());
        hd.extend_from_slice(&dblock_at.to_le_bytes());
        let c = lookup3(&hd);
        hd.extend_from_slice(&c.to_le_bytes());
        if self.put(&hd) != header_at {
            return err("fixed array header misplaced");
        }
        let shape: Vec<u64> = [n].iter().chain(frame).copied().collect();
        let mut msgs = vec![
            (MSG_DATASPACE, dataspace(Some(&shape))),
            (MSG_DATATYPE, dtype.encode()),
            (MSG_FILL_VALUE, vec![3, 0x0b]),
        ];
        let dims: Vec<u64> = [1].iter().chain(frame).copied().chain([elem]).collect();
        let largest = dims.iter().copied().max().unwrap_or(1).max(1);
        let width = ((63 - largest.leading_zeros()) / 8 + 1) as usize;
        let mut layout = vec![4, 2, 0, dims.len() as u8, width as u8];
        for d in &dims {
            layout.extend_from_slice(&d.to_le_bytes()[..width]);
        }
        layout.push(3); // fixed array index
        layout.push(bits);
        layout.extend_from_slice(&header_at.to_le_bytes());
        msgs.push((MSG_LAYOUT, layout));
        let mut filters = vec![2, 1];
        filters.extend_from_slice(&1u16.to_le_bytes()); // deflate
        filters.extend_from_slice(&0u16.to_le_bytes()); // mandatory
        filters.extend_from_slice(&1u16.to_le_bytes()); // one parameter
        filters.extend_from_slice(&u32::from(level).to_le_bytes());
        msgs.push((MSG_FILTERS, filters));
        Ok(self.put(&object_header(&msgs)?))
    }

    /// An f64 dataset.
    pub(crate) fn f64s(
        &mut self,
        data: &[f64],
        shape: &[u64],
        deflate: Option<u8>,
    ) -> Result<u64, H5Error> {
        let raw: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.dataset(Dtype::F64, shape, &raw, deflate)
    }

    /// A u8 dataset (shard records).
    #[cfg(feature = "hdf5-read")]
    pub(crate) fn u8s(
        &mut self,
        data: &[u8],
        shape: &[u64],
        deflate: Option<u8>,
    ) -> Result<u64, H5Error> {
        self.dataset(Dtype::U8, shape, data, deflate)
    }

    /// An i64 dataset.
    pub(crate) fn i64s(
        &mut self,
        data: &[i64],
        shape: &[u64],
        deflate: Option<u8>,
    ) -> Result<u64, H5Error> {
        let raw: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.dataset(Dtype::I64, shape, &raw, deflate)
    }

    /// A 1-D fixed-width ASCII string dataset, the width fitting the longest string
    /// (at least 1, so an empty list is still a valid type).
    pub(crate) fn ascii_strings(&mut self, strings: &[String]) -> Result<u64, H5Error> {
        if let Some(s) = strings.iter().find(|s| !s.is_ascii()) {
            return err(format!("'{s}' is not ASCII"));
        }
        let width = strings.iter().map(|s| s.len()).max().unwrap_or(1).max(1);
        let Ok(w) = u32::try_from(width) else {
            return err("a string wider than 4 GiB");
        };
        let mut raw = Vec::with_capacity(width * strings.len());
        for s in strings {
            raw.extend_from_slice(s.as_bytes());
            raw.resize(raw.len() + width - s.len(), 0);
        }
        self.dataset(Dtype::Ascii(w), &[strings.len() as u64], &raw, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup3_matches_the_published_test_vectors() {
        assert_eq!(lookup3(b""), 0xdead_beef);
        assert_eq!(lookup3(b"Four score and seven years ago"), 0x1777_0551);
        // Every other length is checked by the reference reader, which verifies the
        // checksum of each header and superblock these tests write (export::tests).
    }
}
