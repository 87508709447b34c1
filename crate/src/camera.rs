//! Camera images of a world on the CPU: the same [`VisualShape`] list the page draws with
//! WebGL, rasterised with a z-buffer, a perspective camera and flat per-face lighting.
//!
//! Written here rather than taken from a software-rendering crate: the images must be
//! byte-identical natively and in wasm32, and that holds for plain f64 arithmetic (IEEE
//! basic operations, `sqrt`, and `libm` for the few trigonometric calls) with no SIMD,
//! fused multiply-add or threads, which is easy to guarantee in 300 lines and hard to
//! audit in a general renderer. Everything is deterministic: a scene and a camera give
//! the same bytes on every machine.
//!
//! Conventions: the image is row-major, top row first, RGB with 8 bits per channel
//! (robomimic's `obs/<camera>_image` layout). Pixel centres are sampled at
//! (x + 0.5, y + 0.5). Depth, when asked, is the distance along the camera's view axis
//! in metres (0 where nothing was drawn).

use crate::geom::{m, Pose, Vec3};
use crate::sim::{ShapeKind, VisualShape};
use dmgen_raster::{fill_triangle, Target};
use serde::{Deserialize, Serialize};

/// Largest image side the renderer accepts (pixels).
pub const MAX_IMAGE_SIDE: u32 = 1024;

/// A pinhole camera: position, view direction, up hint, vertical field of view.
#[derive(Clone, Debug, PartialEq)]
pub struct Camera {
    pub eye: Vec3,
    /// Unit view direction.
    pub forward: Vec3,
    /// Approximate up direction (made orthogonal to `forward`).
    pub up: Vec3,
    /// Vertical field of view (degrees).
    pub fovy_deg: f64,
    pub width: u32,
    pub height: u32,
}

/// The front camera looking at the table from across it, as robosuite's `agentview`
/// (robosuite puts it 0.5 m in front of the table centre and 0.55 m above the table top,
/// pitched down by 45 degrees, with a 45 degree field of view; here the same placement
/// relative to this table and robot base).
pub fn agentview(width: u32, height: u32) -> Camera {
    let eye = Vec3::new(1.15, 0.0, 0.62);
    let target = Vec3::new(0.45, 0.0, 0.0);
    Camera {
        eye,
        forward: (target - eye).normalized(),
        up: Vec3::new(0.0, 0.0, 1.0),
        fovy_deg: 45.0,
        width,
        height,
    }
}

/// The wrist camera: on the hand, behind the fingers, looking along the gripper's
/// approach axis (the hand frame's z), as robosuite's `robot0_eye_in_hand` (75 degree
/// field of view). `eef` is the grasp point's pose (the dataset's `robot0_eef_*`).
pub fn eye_in_hand(eef: &Pose, width: u32, height: u32) -> Camera {
    let z = eef.quat.rotate(Vec3::new(0.0, 0.0, 1.0));
    let x = eef.quat.rotate(Vec3::new(1.0, 0.0, 0.0));
    Camera {
        // On the hand housing, 12 cm behind the grasp point and 4 cm off its axis so the
        // fingers are in view without hiding the object.
        eye: eef.pos - z * 0.12 + x * 0.04,
        forward: z,
        up: x,
        fovy_deg: 75.0,
        width,
        height,
    }
}

/// The camera called `name` (one of [`crate::config::CAMERA_NAMES`]) for a hand at `eef`.
pub fn by_name(name: &str, eef: &Pose, width: u32, height: u32) -> Result<Camera, CameraError> {
    match name {
        "agentview" => Ok(agentview(width, height)),
        "robot0_eye_in_hand" => Ok(eye_in_hand(eef, width, height)),
        _ => Err(CameraError(format!(
            "'{name}' is not a camera; use {}",
            crate::config::CAMERA_NAMES.join(" or ")
        ))),
    }
}

/// One camera's frames of an episode: T + 1 frames (each step's observation, then the
/// final one), each zlib-compressed on its own, so a frame is exactly the bytes of one
/// HDF5 chunk of `obs/<camera>_image` and the writer only places them.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct CameraFrames {
    pub camera: String,
    pub width: u32,
    pub height: u32,
    /// zlib streams of `height * width * 3` bytes (RGB, top row first).
    pub rgb: Vec<Vec<u8>>,
    /// zlib streams of `height * width` little-endian f32 depths (m), or empty.
    pub depth: Vec<Vec<u8>>,
}

/// zlib level of recorded frames: level 1 already gets these flat-shaded images to
/// about a tenth of their size, and higher levels cost more time than they save space
/// (docs/dataset.md, "Camera images").
pub const FRAME_DEFLATE_LEVEL: u8 = 1;

/// Render and compress every frame of an episode for the configured cameras: `scenes[t]`
/// is what the world looked like at observation `t` and `eefs[t]` the hand's pose then.
pub fn record_frames(
    settings: &crate::config::CameraSettings,
    scenes: &[Vec<VisualShape>],
    eefs: &[Pose],
) -> Result<Vec<CameraFrames>, CameraError> {
    if scenes.len() != eefs.len() {
        return Err(CameraError(format!(
            "{} scenes but {} hand poses",
            scenes.len(),
            eefs.len()
        )));
    }
    let mut out = Vec::with_capacity(settings.names.len());
    let mut scratch = Scratch::default();
    for name in &settings.names {
        let mut frames = CameraFrames {
            camera: name.clone(),
            width: settings.width,
            height: settings.height,
            rgb: Vec::with_capacity(scenes.len()),
            depth: Vec::new(),
        };
        for (shapes, eef) in scenes.iter().zip(eefs) {
            let cam = by_name(name, eef, settings.width, settings.height)?;
            let img = render_with(shapes, &cam, settings.depth, &mut scratch)?;
            frames.rgb.push(miniz_oxide::deflate::compress_to_vec_zlib(
                &img.rgb,
                FRAME_DEFLATE_LEVEL,
            ));
            if let Some(d) = &img.depth {
                let raw: Vec<u8> = d.iter().flat_map(|v| v.to_le_bytes()).collect();
                frames
                    .depth
                    .push(miniz_oxide::deflate::compress_to_vec_zlib(
                        &raw,
                        FRAME_DEFLATE_LEVEL,
                    ));
            }
        }
        out.push(frames);
    }
    Ok(out)
}

/// Decompress one recorded frame (`expected` bytes), refusing anything else.
pub fn inflate_frame(z: &[u8], expected: usize) -> Result<Vec<u8>, CameraError> {
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(z, expected)
        .map_err(|e| CameraError(format!("a camera frame does not decompress: {e:?}")))?;
    if raw.len() != expected {
        return Err(CameraError(format!(
            "a camera frame holds {} bytes, expected {expected}",
            raw.len()
        )));
    }
    Ok(raw)
}

/// An RGB image (and optionally depth), row-major, top row first.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    /// `width * height` metres along the view axis, 0 for background (when asked).
    pub depth: Option<Vec<f32>>,
}

/// Colour of pixels where nothing is drawn.
pub const BACKGROUND: [u8; 3] = [196, 206, 220];
/// Direction towards the light (unit), from above, in front and to the side.
const LIGHT: [f64; 3] = [
    0.408_248_290_463_863,
    0.408_248_290_463_863,
    0.816_496_580_927_726,
];
const AMBIENT: f64 = 0.4;
const NEAR: f64 = 0.01;
/// Segments around cylinders, capsules and spheres, by level of detail: a shape gets the
/// fewest that keep its outline's edges at most [`EDGE_PX`] pixels long in the image.
/// At 84x84 most of the arm's links need 6-8, which halves a frame's time against 16 for
/// every shape (`dmgen bench cameras`), for silhouettes that differ by under a pixel.
const LEVELS: [usize; 4] = [6, 8, 12, 16];
/// Longest outline edge, pixels.
const EDGE_PX: f64 = 2.5;

/// Errors of [`render`]./// Errors of [`render`].
#[derive(Clone, Debug, PartialEq)]
pub struct CameraError(pub String);

impl std::fmt::Display for CameraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for CameraError {}

/// A triangle in world coordinates with its outward normal and colour.
struct Tri {
    v: [Vec3; 3],
    n: Vec3,
    color: [u8; 3],
}

/// Cosine and sine of the segment angles of one level of detail, and its latitude rings
/// per hemisphere (capsules and spheres), computed once (the trigonometry was a tenth of
/// a frame's time when done per triangle).
struct Rings {
    cs: Vec<(f64, f64)>,
    lats: usize,
}

impl Rings {
    fn new(segments: usize) -> Rings {
        let cs = (0..segments)
            .map(|i| {
                let a = 2.0 * core::f64::consts::PI * i as f64 / segments as f64;
                (m::cos(a), m::sin(a))
            })
            .collect();
        Rings {
            cs,
            lats: (segments / 4).max(2),
        }
    }
    /// Every level, built on first use.
    fn levels() -> &'static [Rings] {
        static LOD: std::sync::OnceLock<Vec<Rings>> = std::sync::OnceLock::new();
        LOD.get_or_init(|| LEVELS.iter().map(|&n| Rings::new(n)).collect())
    }
    /// The level for a shape of radius `r_px` pixels in the image.
    fn for_radius(r_px: f64) -> &'static Rings {
        let all = Rings::levels();
        let need = 2.0 * core::f64::consts::PI * r_px / EDGE_PX;
        all.iter()
            .find(|l| l.cs.len() as f64 >= need)
            .unwrap_or(&all[all.len() - 1])
    }
    fn segments(&self) -> usize {
        self.cs.len()
    }
    fn at(&self, i: usize) -> (f64, f64) {
        self.cs[i % self.cs.len()]
    }
}

/// Push the triangles of one shape (local geometry, then `pose`).
fn tessellate(s: &VisualShape, rings: &Rings, out: &mut Vec<Tri>) {
    let color = [s.color[0], s.color[1], s.color[2]];
    let mut quad = |out: &mut Vec<Tri>, a: Vec3, b: Vec3, c: Vec3, d: Vec3| {
        let (a, b, c, d) = (
            s.pose.transform_point(a),
            s.pose.transform_point(b),
            s.pose.transform_point(c),
            s.pose.transform_point(d),
        );
        for v in [[a, b, c], [a, c, d]] {
            let n = (v[1] - v[0]).cross(v[2] - v[0]).normalized();
            if n != Vec3::ZERO {
                out.push(Tri { v, n, color });
            }
        }
    };
    match &s.kind {
        ShapeKind::Cuboid { half_extents: h } => {
            let (x, y, z) = (h.x(), h.y(), h.z());
            let p = |sx: f64, sy: f64, sz: f64| Vec3::new(sx * x, sy * y, sz * z);
            // Each face counter-clockwise seen from outside.
            let faces = [
                [
                    p(1., -1., -1.),
                    p(1., 1., -1.),
                    p(1., 1., 1.),
                    p(1., -1., 1.),
                ],
                [
                    p(-1., 1., -1.),
                    p(-1., -1., -1.),
                    p(-1., -1., 1.),
                    p(-1., 1., 1.),
                ],
                [
                    p(1., 1., -1.),
                    p(-1., 1., -1.),
                    p(-1., 1., 1.),
                    p(1., 1., 1.),
                ],
                [
                    p(-1., -1., -1.),
                    p(1., -1., -1.),
                    p(1., -1., 1.),
                    p(-1., -1., 1.),
                ],
                [
                    p(-1., -1., 1.),
                    p(1., -1., 1.),
                    p(1., 1., 1.),
                    p(-1., 1., 1.),
                ],
                [
                    p(-1., 1., -1.),
                    p(1., 1., -1.),
                    p(1., -1., -1.),
                    p(-1., -1., -1.),
                ],
            ];
            for f in faces {
                quad(out, f[0], f[1], f[2], f[3]);
            }
        }
        ShapeKind::Cylinder {
            half_height,
            radius,
        } => {
            let (h, r) = (*half_height, *radius);
            for i in 0..rings.segments() {
                let ((c0, s0), (c1, s1)) = (rings.at(i), rings.at(i + 1));
                let (a, b) = (
                    Vec3::new(r * c0, r * s0, 0.0),
                    Vec3::new(r * c1, r * s1, 0.0),
                );
                let up = Vec3::new(0.0, 0.0, h);
                quad(out, a - up, b - up, b + up, a + up);
                // Caps as fans (a degenerate quad is one triangle).
                quad(out, up, a + up, b + up, b + up);
                quad(out, -up, b - up, a - up, a - up);
            }
        }
        ShapeKind::Capsule {
            half_height,
            radius,
        } => round(*half_height, *radius, rings, &mut quad, out),
        ShapeKind::Sphere { radius } => round(0.0, *radius, rings, &mut quad, out),
    }
}

/// A capsule of cylinder half height `h` (a sphere when 0) and radius `r`.
fn round(
    h: f64,
    r: f64,
    rings: &Rings,
    quad: &mut impl FnMut(&mut Vec<Tri>, Vec3, Vec3, Vec3, Vec3),
    out: &mut Vec<Tri>,
) {
    // Latitudes from the south pole to the north pole; the equator is doubled and the
    // two copies are `2h` apart (the cylinder part).
    let n = rings.lats;
    let mut lats: Vec<(f64, f64)> = Vec::with_capacity(2 * n + 2);
    for k in 0..=n {
        let a = -0.5 * core::f64::consts::PI * (1.0 - k as f64 / n as f64);
        lats.push((m::cos(a) * r, m::sin(a) * r - h));
    }
    for k in 0..=n {
        let a = 0.5 * core::f64::consts::PI * k as f64 / n as f64;
        lats.push((m::cos(a) * r, m::sin(a) * r + h));
    }
    for w in lats.windows(2) {
        let ((r0, z0), (r1, z1)) = (w[0], w[1]);
        if r0 == r1 && z0 == z1 {
            continue;
        }
        for i in 0..rings.segments() {
            let ((c0, s0), (c1, s1)) = (rings.at(i), rings.at(i + 1));
            let a = Vec3::new(r0 * c0, r0 * s0, z0);
            let b = Vec3::new(r0 * c1, r0 * s1, z0);
            let c = Vec3::new(r1 * c1, r1 * s1, z1);
            let d = Vec3::new(r1 * c0, r1 * s0, z1);
            quad(out, a, b, c, d);
        }
    }
}

/// A camera-space vertex: x right, y up, z along the view axis (depth).
#[derive(Clone, Copy)]
struct Cv([f64; 3]);

/// Buffers reused between frames (an episode renders hundreds).
#[derive(Default)]
pub struct Scratch {
    tris: Vec<Tri>,
    zbuf: Vec<f64>,
}

/// Render `shapes` seen from `cam`.
pub fn render(shapes: &[VisualShape], cam: &Camera, depth: bool) -> Result<Image, CameraError> {
    render_with(shapes, cam, depth, &mut Scratch::default())
}

/// Radius of a sphere around the shape's origin that holds the whole shape.
fn bounding_radius(kind: &ShapeKind) -> f64 {
    match kind {
        ShapeKind::Cuboid { half_extents: h } => h.norm(),
        ShapeKind::Cylinder {
            half_height,
            radius,
        } => (half_height * half_height + radius * radius).sqrt(),
        ShapeKind::Capsule {
            half_height,
            radius,
        } => half_height + radius,
        ShapeKind::Sphere { radius } => *radius,
    }
}

/// [`render`] with caller-owned buffers.
pub fn render_with(
    shapes: &[VisualShape],
    cam: &Camera,
    depth: bool,
    scratch: &mut Scratch,
) -> Result<Image, CameraError> {
    let (w, h) = (cam.width, cam.height);
    if w == 0 || h == 0 || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
        return Err(CameraError(format!(
            "a {w}x{h} image: each side must be 1 to {MAX_IMAGE_SIDE} pixels"
        )));
    }
    if !(cam.fovy_deg > 1.0 && cam.fovy_deg < 170.0) {
        return Err(CameraError(format!(
            "a field of view of {} degrees (1 to 170)",
            cam.fovy_deg
        )));
    }
    let f = cam.forward.normalized();
    let right = f.cross(cam.up).normalized();
    if f == Vec3::ZERO || right == Vec3::ZERO || !cam.eye.is_finite() {
        return Err(CameraError(
            "the camera's view direction is zero, parallel to its up direction or not finite"
                .into(),
        ));
    }
    let up = right.cross(f);
    let (wf, hf) = (w as f64, h as f64);
    // Pixels per unit of x/z at depth 1.
    let focal = 0.5 * hf / libm::tan(0.5 * cam.fovy_deg.to_radians());
    let (cx, cy) = (0.5 * wf, 0.5 * hf);
    // Half-angle tangents of the view, and the side planes' inward normals' scale, for
    // dropping shapes wholly outside the view before tessellating them.
    let (tx, ty) = (cx / focal, cy / focal);
    let (nx, ny) = ((1.0 + tx * tx).sqrt(), (1.0 + ty * ty).sqrt());
    let n = (w as usize) * (h as usize);
    let mut rgb = vec![0u8; 3 * n];
    for px in rgb.chunks_exact_mut(3) {
        px.copy_from_slice(&BACKGROUND);
    }
    // Inverse depth per pixel (0: nothing yet); larger is nearer.
    let zbuf = &mut scratch.zbuf;
    zbuf.clear();
    zbuf.resize(n, 0.0);
    let tris = &mut scratch.tris;
    let light = Vec3(LIGHT);
    let target = Target {
        focal,
        cx,
        cy,
        w,
        h,
    };
    for s in shapes {
        let d = s.pose.pos - cam.eye;
        let (x, y, z) = (d.dot(right), d.dot(up), d.dot(f));
        let r = bounding_radius(&s.kind);
        if z + r < NEAR
            || (x.abs() - tx * z) > r * nx
            || (y.abs() - ty * z) > r * ny
            || !r.is_finite()
        {
            continue;
        }
        tris.clear();
        // Detail from the shape's radius in the image, at the nearest point of its
        // bounding sphere (a shape the camera is inside gets the finest level).
        let round_r = match s.kind {
            ShapeKind::Cylinder { radius, .. }
            | ShapeKind::Capsule { radius, .. }
            | ShapeKind::Sphere { radius } => radius,
            ShapeKind::Cuboid { .. } => 0.0,
        };
        let r_px = focal * round_r / (z - r).max(NEAR);
        tessellate(s, Rings::for_radius(r_px), tris);
        for t in tris.iter() {
            // Back faces (closed shapes) are hidden by their front faces.
            if t.n.dot(t.v[0] - cam.eye) >= 0.0 {
                continue;
            }
            let shade = AMBIENT + (1.0 - AMBIENT) * t.n.dot(light).max(0.0);
            let color = t
                .color
                .map(|c| (c as f64 * shade).round().clamp(0.0, 255.0) as u8);
            let cvs = t.v.map(|v| {
                let d = v - cam.eye;
                Cv([d.dot(right), d.dot(up), d.dot(f)])
            });
            if cvs.iter().all(|v| v.0[2] >= NEAR) {
                fill_triangle(&cvs.map(|v| v.0), &target, color, &mut rgb, zbuf);
            } else {
                for poly in clip_near(&cvs) {
                    fill_triangle(&poly.map(|v| v.0), &target, color, &mut rgb, zbuf);
                }
            }
        }
    }
    let depth = depth.then(|| {
        zbuf.iter()
            .map(|&iz| if iz > 0.0 { (1.0 / iz) as f32 } else { 0.0 })
            .collect()
    });
    Ok(Image {
        width: w,
        height: h,
        rgb,
        depth,
    })
}

/// The triangle's parts in front of the near plane, as triangles.
fn clip_near(t: &[Cv; 3]) -> Vec<[Cv; 3]> {
    let inside = |v: &Cv| v.0[2] >= NEAR;
    let mut poly: Vec<Cv> = Vec::with_capacity(4);
    for i in 0..3 {
        let (a, b) = (t[i], t[(i + 1) % 3]);
        if inside(&a) {
            poly.push(a);
        }
        if inside(&a) != inside(&b) {
            let s = (NEAR - a.0[2]) / (b.0[2] - a.0[2]);
            poly.push(Cv([
                a.0[0] + s * (b.0[0] - a.0[0]),
                a.0[1] + s * (b.0[1] - a.0[1]),
                NEAR,
            ]));
        }
    }
    (1..poly.len().saturating_sub(1))
        .map(|i| [poly[0], poly[i], poly[i + 1]])
        .collect()
}

/// The pixel (column, row) where world point `p` appears, if it is in front of the
/// camera and inside the image.
pub fn project(cam: &Camera, p: Vec3) -> Option<(u32, u32)> {
    let f = cam.forward.normalized();
    let right = f.cross(cam.up).normalized();
    let up = right.cross(f);
    let d = p - cam.eye;
    let z = d.dot(f);
    if z < NEAR {
        return None;
    }
    let focal = 0.5 * cam.height as f64 / libm::tan(0.5 * cam.fovy_deg.to_radians());
    let x = 0.5 * cam.width as f64 + focal * d.dot(right) / z;
    let y = 0.5 * cam.height as f64 - focal * d.dot(up) / z;
    (x >= 0.0 && y >= 0.0 && x < cam.width as f64 && y < cam.height as f64)
        .then_some((x as u32, y as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{PandaWorld, PhysicsSettings, World};
    use crate::task::Task;

    fn pixel(img: &Image, (x, y): (u32, u32)) -> [u8; 3] {
        let k = 3 * (y as usize * img.width as usize + x as usize);
        [img.rgb[k], img.rgb[k + 1], img.rgb[k + 2]]
    }

    /// A red cube on the table appears, shaded red, at the pixel its centre projects to
    /// (agentview and the wrist camera above it), and the image is deterministic.
    #[test]
    fn an_object_appears_where_its_pose_projects() {
        let task = Task::by_id("lift").unwrap();
        let world = PandaWorld::new(&task, PhysicsSettings::default()).unwrap();
        let shapes = world.visual_shapes();
        let cam = agentview(84, 84);
        let img = render(&shapes, &cam, true).unwrap();
        assert_eq!(img.rgb.len(), 84 * 84 * 3);
        let cube = world.object_poses()[0];
        let obj = shapes
            .iter()
            .find(|s| s.pose.pos == cube.pos)
            .expect("the cube is among the visual shapes");
        let px = project(&cam, cube.pos).expect("the cube is in view");
        let c = pixel(&img, px);
        // The cube's colour, lit (each channel scaled by the same shade).
        let shade = |ch: usize| c[ch] as f64 / obj.color[ch].max(1) as f64;
        assert!(c != BACKGROUND, "background at the cube's pixel {px:?}");
        let dominant = (0..3).max_by_key(|&ch| obj.color[ch]).unwrap();
        assert_eq!(
            (0..3).max_by_key(|&ch| c[ch]).unwrap(),
            dominant,
            "pixel {c:?} vs cube colour {:?}",
            obj.color
        );
        assert!((AMBIENT - 0.01..=1.01).contains(&shade(dominant)));
        // Depth there is about the camera distance to the cube's near face.
        let d = img.depth.as_ref().unwrap()[px.1 as usize * 84 + px.0 as usize] as f64;
        let centre = (cube.pos - cam.eye).dot(cam.forward.normalized());
        assert!(
            d > centre - 0.05 && d < centre,
            "depth {d} vs centre {centre}"
        );
        // Deterministic, and the wrist camera sees the table below the hand.
        assert_eq!(render(&shapes, &cam, true).unwrap(), img);
        let eef = crate::sim::World::eef_pose(&world);
        let wrist = render(&shapes, &eye_in_hand(&eef, 84, 84), false).unwrap();
        assert!(wrist.rgb.chunks(3).any(|p| p != BACKGROUND));
    }

    #[test]
    fn bad_cameras_are_refused() {
        let mut cam = agentview(0, 84);
        assert!(render(&[], &cam, false).is_err());
        cam = agentview(84, 84);
        cam.forward = Vec3::ZERO;
        assert!(render(&[], &cam, false).is_err());
        cam = agentview(2000, 84);
        assert!(render(&[], &cam, false).is_err());
    }
}
