//! A small rapier3d scene (a table and a few boxes dropped on it): the
//! smallest complete use of the physics engine, shown while the task scene
//! loads and used as a cross-platform determinism check (its digest must be
//! the same natively and in wasm32).

use crate::geom::{Pose, Quat, Vec3};
use crate::rng::Rng;
use crate::sim::{ShapeKind, VisualShape};
use rapier3d::prelude::*;

/// Physics step of the showcase scene (s).
pub const SHOWCASE_DT: f64 = 1.0 / 240.0;

const TABLE_HALF: [f32; 3] = [0.4, 0.6, 0.02];
const TABLE_CENTRE: [f32; 3] = [0.5, 0.0, -0.02];

/// Boxes falling onto a table.
pub struct BoxDrop {
    pipeline: PhysicsPipeline,
    params: IntegrationParameters,
    islands: IslandManager,
    broad_phase: BroadPhaseBvh,
    narrow_phase: NarrowPhase,
    bodies: RigidBodySet,
    colliders: ColliderSet,
    impulse_joints: ImpulseJointSet,
    multibody_joints: MultibodyJointSet,
    soft_bodies: SoftBodySet,
    ccd: CCDSolver,
    boxes: Vec<(RigidBodyHandle, [f32; 3], [u8; 4])>,
    steps: u64,
}

const PALETTE: [[u8; 4]; 5] = [
    [214, 69, 65, 255],
    [52, 120, 198, 255],
    [240, 180, 40, 255],
    [70, 160, 90, 255],
    [140, 90, 180, 255],
];

impl BoxDrop {
    /// `count` boxes at seeded positions above the table.
    pub fn new(count: usize, seed: u64) -> BoxDrop {
        let mut bodies = RigidBodySet::new();
        let mut colliders = ColliderSet::new();
        let table = bodies.insert(
            RigidBodyBuilder::fixed()
                .translation(Vector::new(
                    TABLE_CENTRE[0],
                    TABLE_CENTRE[1],
                    TABLE_CENTRE[2],
                ))
                .build(),
        );
        colliders.insert_with_parent(
            ColliderBuilder::cuboid(TABLE_HALF[0], TABLE_HALF[1], TABLE_HALF[2])
                .friction(0.8)
                .build(),
            table,
            &mut bodies,
        );
        let mut rng = Rng::new(seed);
        let mut boxes = Vec::new();
        for i in 0..count {
            let h = rng.range(0.02, 0.04) as f32;
            let half = [h, h, h];
            let x = rng.range(0.35, 0.65) as f32;
            let y = rng.range(-0.2, 0.2) as f32;
            let z = 0.1 + 0.09 * i as f32;
            let q = Quat::from_axis_angle(
                Vec3::new(rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), 1.0),
                rng.range(-1.0, 1.0),
            );
            let body = RigidBodyBuilder::dynamic()
                .pose(rapier3d::math::Pose::from_parts(
                    Vector::new(x, y, z),
                    Rotation::from_xyzw(q.0[0] as f32, q.0[1] as f32, q.0[2] as f32, q.0[3] as f32),
                ))
                .build();
            let handle = bodies.insert(body);
            colliders.insert_with_parent(
                ColliderBuilder::cuboid(half[0], half[1], half[2])
                    .density(500.0)
                    .friction(0.8)
                    .build(),
                handle,
                &mut bodies,
            );
            boxes.push((handle, half, PALETTE[i % PALETTE.len()]));
        }
        let params = IntegrationParameters {
            dt: SHOWCASE_DT as f32,
            ..Default::default()
        };
        BoxDrop {
            pipeline: PhysicsPipeline::new(),
            params,
            islands: IslandManager::new(),
            broad_phase: BroadPhaseBvh::new(),
            narrow_phase: NarrowPhase::with_query_dispatcher(super::dispatch::ConvexDispatcher),
            bodies,
            colliders,
            impulse_joints: ImpulseJointSet::new(),
            multibody_joints: MultibodyJointSet::new(),
            soft_bodies: SoftBodySet::new(),
            ccd: CCDSolver::new(),
            boxes,
            steps: 0,
        }
    }

    /// Advance one physics step of [`SHOWCASE_DT`].
    pub fn step(&mut self) {
        self.pipeline.step(
            Vector::new(0.0, 0.0, -9.81),
            &self.params,
            &mut self.islands,
            &mut self.broad_phase,
            &mut self.narrow_phase,
            &mut self.bodies,
            &mut self.colliders,
            &mut self.impulse_joints,
            &mut self.multibody_joints,
            &mut self.soft_bodies,
            &mut self.ccd,
            &(),
            &(),
        );
        self.steps += 1;
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    fn body_pose(&self, h: RigidBodyHandle) -> Option<Pose> {
        let b = self.bodies.get(h)?;
        let p = b.position();
        let t = p.translation;
        let r = p.rotation;
        Some(Pose::new(
            Vec3::new(t.x as f64, t.y as f64, t.z as f64),
            Quat([r.x as f64, r.y as f64, r.z as f64, r.w as f64]),
        ))
    }

    /// Poses of the boxes, in creation order.
    pub fn box_poses(&self) -> Vec<Pose> {
        self.boxes
            .iter()
            .filter_map(|(h, _, _)| self.body_pose(*h))
            .collect()
    }

    /// FNV-1a digest over the f32 bits of every box pose: equal digests mean
    /// bit-identical simulations.
    pub fn digest(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (h, _, _) in &self.boxes {
            if let Some(b) = self.bodies.get(*h) {
                let p = b.position();
                let t = p.translation;
                let r = p.rotation;
                for v in [t.x, t.y, t.z, r.x, r.y, r.z, r.w] {
                    for byte in v.to_bits().to_le_bytes() {
                        hash ^= byte as u64;
                        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
                    }
                }
            }
        }
        hash
    }

    /// Table and boxes as drawable primitives.
    pub fn visual_shapes(&self) -> Vec<VisualShape> {
        let mut out = vec![VisualShape {
            kind: ShapeKind::Cuboid {
                half_extents: Vec3::new(
                    TABLE_HALF[0] as f64,
                    TABLE_HALF[1] as f64,
                    TABLE_HALF[2] as f64,
                ),
            },
            pose: Pose::from_pos(Vec3::new(
                TABLE_CENTRE[0] as f64,
                TABLE_CENTRE[1] as f64,
                TABLE_CENTRE[2] as f64,
            )),
            color: [196, 170, 140, 255],
        }];
        for (h, half, color) in &self.boxes {
            if let Some(pose) = self.body_pose(*h) {
                out.push(VisualShape {
                    kind: ShapeKind::Cuboid {
                        half_extents: Vec3::new(half[0] as f64, half[1] as f64, half[2] as f64),
                    },
                    pose,
                    color: *color,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_settle_on_the_table() {
        let mut scene = BoxDrop::new(4, 1);
        for _ in 0..720 {
            scene.step();
        }
        for p in scene.box_poses() {
            // Resting on the table top (z = 0), not fallen through, not flying.
            assert!(
                p.pos.z() > 0.0 && p.pos.z() < 0.2,
                "box at z = {}",
                p.pos.z()
            );
        }
    }

    #[test]
    fn same_seed_same_bits() {
        let run = |seed| {
            let mut s = BoxDrop::new(5, seed);
            for _ in 0..300 {
                s.step();
            }
            s.digest()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }
}

#[cfg(test)]
mod golden {
    use super::*;

    /// The digest pinned in `tests/fixtures/golden.json` is checked here natively
    /// and by the browser tests in wasm32: any platform drift fails both.
    #[test]
    fn showcase_digest_matches_golden_file() {
        let golden: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/golden.json"))
                .expect("golden.json parses");
        let g = &golden["showcase"];
        let boxes = g["boxes"].as_u64().expect("boxes") as usize;
        let seed = g["seed"].as_u64().expect("seed");
        let steps = g["steps"].as_u64().expect("steps");
        let mut s = BoxDrop::new(boxes, seed);
        for _ in 0..steps {
            s.step();
        }
        assert_eq!(
            format!("{:016x}", s.digest()),
            g["digest"].as_str().expect("digest")
        );
    }
}
