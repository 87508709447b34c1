//! WebGL2 rendering of a world's [`VisualShape`] list with three-d.
//!
//! Compiled for wasm32 only. This module knows three-d but not JavaScript:
//! `wasm.rs` creates the GL context from the page's canvas and hands it over.
//!
//! Every primitive kind (box, sphere, capped cylinder) is one instanced mesh;
//! a frame updates the per-instance transforms and colours, so drawing the
//! whole scene costs three draw calls plus a shadow pass.

use crate::geom::{m, Pose, Vec3 as V3};
use crate::sim::{ShapeKind, VisualShape};
use three_d::*;

/// Orbit camera around a target point, z up.
#[derive(Clone, Debug)]
pub struct Orbit {
    pub target: [f32; 3],
    /// Azimuth about world z (rad).
    pub yaw: f32,
    /// Elevation above the xy plane (rad).
    pub pitch: f32,
    /// Distance from the target (m).
    pub distance: f32,
}

impl Default for Orbit {
    fn default() -> Self {
        Orbit {
            target: [0.45, 0.0, 0.15],
            yaw: 0.55,
            pitch: 0.42,
            distance: 1.9,
        }
    }
}

impl Orbit {
    /// Rotate by a pointer drag of `dx`, `dy` pixels.
    pub fn rotate(&mut self, dx: f32, dy: f32) {
        self.yaw -= dx * 0.008;
        self.pitch = (self.pitch + dy * 0.008).clamp(-0.2, 1.5);
    }
    /// Zoom by a wheel delta (positive: away).
    pub fn zoom(&mut self, delta: f32) {
        let f = libm::expf(delta.clamp(-500.0, 500.0) * 0.001);
        self.distance = (self.distance * f).clamp(0.3, 8.0);
    }
    /// Pan the target in the view plane by a drag of `dx`, `dy` pixels.
    pub fn pan(&mut self, dx: f32, dy: f32) {
        let s = self.distance * 0.0015;
        let (sy, cy) = (libm::sinf(self.yaw), libm::cosf(self.yaw));
        // Camera right vector and the ground-projected forward vector.
        let right = [-sy, cy];
        self.target[0] -= right[0] * dx * s;
        self.target[1] -= right[1] * dx * s;
        self.target[2] += dy * s;
        self.target[2] = self.target[2].clamp(-0.5, 1.5);
    }
    /// Camera position in the world.
    pub fn eye(&self) -> [f32; 3] {
        let (sp, cp) = (libm::sinf(self.pitch), libm::cosf(self.pitch));
        let (sy, cy) = (libm::sinf(self.yaw), libm::cosf(self.yaw));
        [
            self.target[0] + self.distance * cp * cy,
            self.target[1] + self.distance * cp * sy,
            self.target[2] + self.distance * sp,
        ]
    }
}

/// Lines and frames drawn over the scene (goal frames, planned paths).
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    /// Small coordinate frames (x red, y green, z blue).
    pub frames: Vec<Pose>,
    /// Polylines with a colour each.
    pub paths: Vec<(Vec<V3>, [u8; 4])>,
}

/// Draws shapes into the canvas's default framebuffer.
pub struct Renderer {
    context: Context,
    width: u32,
    height: u32,
    pub orbit: Orbit,
    boxes: Gm<InstancedMesh, PhysicalMaterial>,
    spheres: Gm<InstancedMesh, PhysicalMaterial>,
    cylinders: Gm<InstancedMesh, PhysicalMaterial>,
    sun: DirectionalLight,
    ambient: AmbientLight,
    frames_drawn: u64,
}

fn empty_instances() -> Instances {
    Instances {
        transformations: Vec::new(),
        texture_transformations: None,
        colors: Some(Vec::new()),
    }
}

/// A closed cylinder along z from -1 to 1 with radius 1.
fn capped_cylinder(segments: u32) -> CpuMesh {
    let n = segments.max(3);
    let mut positions = Vec::new();
    let mut indices: Vec<u32> = Vec::new();
    let ring = |z: f32, positions: &mut Vec<Vec3>| {
        for j in 0..n {
            let a = 2.0 * std::f32::consts::PI * j as f32 / n as f32;
            positions.push(vec3(libm::cosf(a), libm::sinf(a), z));
        }
    };
    // Side (its own vertices so normals stay smooth around, sharp at the caps).
    ring(-1.0, &mut positions);
    ring(1.0, &mut positions);
    for j in 0..n {
        let k = (j + 1) % n;
        indices.extend_from_slice(&[j, k, n + k, j, n + k, n + j]);
    }
    // Caps.
    for (z, flip) in [(-1.0f32, true), (1.0, false)] {
        let centre = positions.len() as u32;
        positions.push(vec3(0.0, 0.0, z));
        ring(z, &mut positions);
        for j in 0..n {
            let a = centre + 1 + j;
            let b = centre + 1 + (j + 1) % n;
            if flip {
                indices.extend_from_slice(&[centre, b, a]);
            } else {
                indices.extend_from_slice(&[centre, a, b]);
            }
        }
    }
    let mut mesh = CpuMesh {
        positions: Positions::F32(positions),
        indices: Indices::U32(indices),
        ..Default::default()
    };
    mesh.compute_normals();
    mesh
}

fn material(context: &Context) -> PhysicalMaterial {
    PhysicalMaterial::new_opaque(
        context,
        &CpuMaterial {
            albedo: Srgba::WHITE,
            roughness: 0.65,
            metallic: 0.05,
            ..Default::default()
        },
    )
}

fn mat4_of(pose: &Pose, scale: [f64; 3]) -> Mat4 {
    let r = pose.quat.to_mat3();
    let p = pose.pos.0;
    // cgmath matrices are column-major: columns are the rotated, scaled axes.
    Mat4::new(
        (r[0][0] * scale[0]) as f32,
        (r[1][0] * scale[0]) as f32,
        (r[2][0] * scale[0]) as f32,
        0.0,
        (r[0][1] * scale[1]) as f32,
        (r[1][1] * scale[1]) as f32,
        (r[2][1] * scale[1]) as f32,
        0.0,
        (r[0][2] * scale[2]) as f32,
        (r[1][2] * scale[2]) as f32,
        (r[2][2] * scale[2]) as f32,
        0.0,
        p[0] as f32,
        p[1] as f32,
        p[2] as f32,
        1.0,
    )
}

fn srgba(c: [u8; 4]) -> Srgba {
    Srgba::new(c[0], c[1], c[2], c[3])
}

#[derive(Default)]
struct Batch {
    transforms: Vec<Mat4>,
    colors: Vec<Srgba>,
}

impl Batch {
    fn push(&mut self, t: Mat4, c: [u8; 4]) {
        self.transforms.push(t);
        self.colors.push(srgba(c));
    }
    fn instances(self) -> Instances {
        Instances {
            transformations: self.transforms,
            texture_transformations: None,
            colors: Some(self.colors),
        }
    }
}

impl Renderer {
    /// Wrap an existing three-d context (created by the caller from a canvas).
    pub fn new(context: Context, width: u32, height: u32) -> Renderer {
        let inst = empty_instances();
        let boxes = Gm::new(
            InstancedMesh::new(&context, &inst, &CpuMesh::cube()),
            material(&context),
        );
        let spheres = Gm::new(
            InstancedMesh::new(&context, &inst, &CpuMesh::sphere(20)),
            material(&context),
        );
        let cylinders = Gm::new(
            InstancedMesh::new(&context, &inst, &capped_cylinder(24)),
            material(&context),
        );
        let sun = DirectionalLight::new(
            &context,
            2.2,
            Srgba::WHITE,
            vec3(-0.35, -0.25, -1.0).normalize(),
        );
        let ambient = AmbientLight::new(&context, 0.45, Srgba::WHITE);
        Renderer {
            context,
            width: width.max(1),
            height: height.max(1),
            orbit: Orbit::default(),
            boxes,
            spheres,
            cylinders,
            sun,
            ambient,
            frames_drawn: 0,
        }
    }

    pub fn resize(&mut self, width: u32, height: u32) {
        self.width = width.max(1);
        self.height = height.max(1);
    }

    pub fn frames_drawn(&self) -> u64 {
        self.frames_drawn
    }

    fn camera(&self) -> Camera {
        let eye = self.orbit.eye();
        let t = self.orbit.target;
        Camera::new_perspective(
            Viewport::new_at_origo(self.width, self.height),
            vec3(eye[0], eye[1], eye[2]),
            vec3(t[0], t[1], t[2]),
            vec3(0.0, 0.0, 1.0),
            degrees(40.0),
            0.02,
            30.0,
        )
    }

    /// The ray under canvas pixel (`x`, `y`) (device pixels, y from the top):
    /// origin and unit direction in the world.
    pub fn ray(&self, x: f32, y: f32) -> ([f64; 3], [f64; 3]) {
        let camera = self.camera();
        let pixel = (x, self.height as f32 - y);
        let o = camera.position_at_pixel(pixel);
        let d = camera.view_direction_at_pixel(pixel);
        (
            [o.x as f64, o.y as f64, o.z as f64],
            [d.x as f64, d.y as f64, d.z as f64],
        )
    }

    /// Canvas pixel (device pixels, y from the top) where world point `p` appears.
    pub fn pixel(&self, p: [f64; 3]) -> [f64; 2] {
        let q = self
            .camera()
            .pixel_at_position(vec3(p[0] as f32, p[1] as f32, p[2] as f32));
        [f64::from(q.x), self.height as f64 - f64::from(q.y)]
    }

    /// Draw one frame of `shapes` plus the overlay.
    pub fn draw(&mut self, shapes: &[VisualShape], overlay: &Overlay) {
        let mut boxes = Batch::default();
        let mut spheres = Batch::default();
        let mut cylinders = Batch::default();
        for s in shapes {
            match s.kind {
                ShapeKind::Cuboid { half_extents: h } => {
                    boxes.push(mat4_of(&s.pose, h.0), s.color);
                }
                ShapeKind::Sphere { radius } => {
                    spheres.push(mat4_of(&s.pose, [radius; 3]), s.color);
                }
                ShapeKind::Cylinder {
                    half_height,
                    radius,
                } => {
                    cylinders.push(mat4_of(&s.pose, [radius, radius, half_height]), s.color);
                }
                ShapeKind::Capsule {
                    half_height,
                    radius,
                } => {
                    cylinders.push(mat4_of(&s.pose, [radius, radius, half_height]), s.color);
                    let axis = s.pose.quat.rotate(V3::new(0.0, 0.0, half_height));
                    for end in [s.pose.pos + axis, s.pose.pos - axis] {
                        spheres.push(mat4_of(&Pose::from_pos(end), [radius; 3]), s.color);
                    }
                }
            }
        }
        for f in &overlay.frames {
            let l = 0.05;
            let w = 0.003;
            for (axis, color) in [
                (V3::new(1.0, 0.0, 0.0), [230, 40, 40, 255]),
                (V3::new(0.0, 1.0, 0.0), [40, 200, 60, 255]),
                (V3::new(0.0, 0.0, 1.0), [50, 90, 240, 255]),
            ] {
                let mut half = [w; 3];
                let idx = axis.0.iter().position(|v| *v > 0.5).unwrap_or(0);
                half[idx] = l * 0.5;
                let centre = f.transform_point(axis * (l * 0.5));
                boxes.push(mat4_of(&Pose::new(centre, f.quat), half), color);
            }
        }
        for (path, color) in &overlay.paths {
            for pair in path.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let d = b - a;
                let len = d.norm();
                if len < 1e-6 {
                    continue;
                }
                // Orient a thin cylinder's z axis along the segment.
                let z = V3::new(0.0, 0.0, 1.0);
                let axis = z.cross(d * (1.0 / len));
                let angle = m::acos(z.dot(d * (1.0 / len)));
                let q = if axis.norm() < 1e-9 {
                    crate::geom::Quat::IDENTITY
                } else {
                    crate::geom::Quat::from_axis_angle(axis, angle)
                };
                let pose = Pose::new((a + b) * 0.5, q);
                cylinders.push(mat4_of(&pose, [0.0025, 0.0025, len * 0.5]), *color);
            }
        }
        self.boxes.geometry.set_instances(&boxes.instances());
        self.spheres.geometry.set_instances(&spheres.instances());
        self.cylinders
            .geometry
            .set_instances(&cylinders.instances());

        let _ = self.sun.generate_shadow_map(
            1024,
            [
                &self.boxes.geometry,
                &self.spheres.geometry,
                &self.cylinders.geometry,
            ],
        );
        let camera = self.camera();
        RenderTarget::screen(&self.context, self.width, self.height)
            .clear(ClearState::color_and_depth(0.93, 0.94, 0.96, 1.0, 1.0))
            .render(
                &camera,
                [&self.boxes, &self.spheres, &self.cylinders],
                &[&self.ambient, &self.sun],
            );
        self.frames_drawn += 1;
    }
}
